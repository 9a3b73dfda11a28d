// Byte vectors for every topic::Message variant, worked out by hand from the postcard rules in
// docs/gossip.md (enum index as varint, u16 as varint, [u8; 32] raw, Bytes/Vec with a varint
// length, Option as 00 / 01 + value, bool as 00 / 01), plus strictness and robustness checks.
#include <gtest/gtest.h>

#include "gossip/messages.hpp"
#include "message_samples.hpp"

namespace p2panda::gossip {
namespace {

using testing::filled;
using testing::repeat;

const PeerId kA = filled<PeerId>(0xaa);
const PeerId kB = filled<PeerId>(0xbb);
const MessageId kId = filled<MessageId>(0x11);
const std::string kAHex = repeat("aa", 32);
const std::string kBHex = repeat("bb", 32);
const std::string kIdHex = repeat("11", 32);

struct Vector {
  const char* name;
  Message message;
  std::string hex;
};

std::vector<Vector> vectors() {
  const Bytes hi{'h', 'i'};
  return {
      {"Join(None)", Join{}, "000000"},
      {"Join(Some)", Join{Bytes{1, 2, 3}}, "00000103010203"},
      {"ForwardJoin ttl 6", ForwardJoin{{kA, std::nullopt}, 6}, "0001" + kAHex + "0006"},
      {"ForwardJoin ttl 300 with data", ForwardJoin{{kA, Bytes{0xff, 0xee}}, 300},
       "0001" + kAHex + "0102ffeeac02"},
      {"Shuffle", Shuffle{kB, {{kA, std::nullopt}}, 6}, "0002" + kBHex + "01" + kAHex + "0006"},
      {"ShuffleReply empty", ShuffleReply{}, "000300"},
      {"ShuffleReply two", ShuffleReply{{{kA, Bytes{}}, {kB, std::nullopt}}},
       "000302" + kAHex + "0100" + kBHex + "00"},
      {"Neighbor Low None", Neighbor{Priority::Low, std::nullopt}, "00040100"},
      {"Neighbor High Some", Neighbor{Priority::High, Bytes{0x07}}, "0004000101" "07"},
      {"Disconnect alive", Disconnect{true, false}, "00050100"},
      {"Disconnect respond", Disconnect{false, true}, "00050001"},
      {"Gossip Swarm(0)", Gossip{kId, hi, DeliveryScope::swarm(0)}, "0100" + kIdHex + "02686900" "00"},
      {"Gossip Swarm(65535)", Gossip{kId, hi, DeliveryScope::swarm(65535)},
       "0100" + kIdHex + "02686900ffff03"},
      {"Gossip Neighbors", Gossip{kId, hi, DeliveryScope::neighbors()}, "0100" + kIdHex + "026869" "01"},
      {"Prune", Prune{}, "0101"},
      {"Graft None", Graft{std::nullopt, 3}, "01020003"},
      {"Graft Some round 128", Graft{kId, 128}, "010201" + kIdHex + "8001"},
      {"IHave empty", IHave{}, "010300"},
      {"IHave one", IHave{{{kId, 2}}}, "010301" + kIdHex + "02"},
  };
}

TEST(GossipMessages, EncodesHandComputedVectors) {
  for (const auto& vector : vectors()) {
    EXPECT_EQ(to_hex(encode_message(vector.message)), vector.hex) << vector.name;
    EXPECT_EQ(encoded_size(vector.message), vector.hex.size() / 2) << vector.name;
  }
}

TEST(GossipMessages, DecodesHandComputedVectors) {
  for (const auto& vector : vectors()) {
    auto decoded = decode_message(*from_hex(vector.hex));
    ASSERT_TRUE(decoded.has_value()) << vector.name << ": " << decoded.error().to_string();
    EXPECT_TRUE(*decoded == vector.message) << vector.name;
  }
}

// The Neighbor frame an iroh 0.35 node sent in the interop capture (gossip-wire.md §2.3) starts
// 00 04 00 01 42: Swarm, Neighbor, High, Some, a 66-byte PeerData.
TEST(GossipMessages, MatchesCapturedNeighborPrefix) {
  const Bytes encoded = encode_message(Neighbor{Priority::High, Bytes(66, 0)});
  EXPECT_EQ(to_hex(ByteSpan(encoded).first(5)), "0004000142");
}

// MessageId = BLAKE3(content): ids logged on the wire in the interop capture.
TEST(GossipMessages, MessageIdIsBlake3OfContent) {
  EXPECT_EQ(MessageId::from_content(as_bytes("msg-0 from 55154f42")).to_hex().substr(0, 8),
            "858fa24c");
  EXPECT_EQ(MessageId::from_content(as_bytes("msg-1 from 55154f42")).to_hex().substr(0, 8),
            "bbc19283");
  EXPECT_EQ(MessageId::from_content(as_bytes("msg-2 from 55154f42")).to_hex().substr(0, 8),
            "529229ac");
}

struct Bad {
  const char* name;
  std::string hex;
  Errc code;
};

TEST(GossipMessages, RejectsMalformedInput) {
  const std::vector<Bad> cases = {
      {"empty", "", Errc::PostcardTruncated},
      {"trailing byte", "010100", Errc::PostcardTrailingBytes},
      {"unknown topic variant", "0200", Errc::PostcardInvalidValue},
      {"unknown hyparview variant", "0006", Errc::PostcardInvalidValue},
      {"unknown plumtree variant", "0104", Errc::PostcardInvalidValue},
      {"Option tag 2", "000002", Errc::PostcardInvalidValue},
      {"bool 2", "00050200", Errc::PostcardInvalidValue},
      {"priority 2", "00040200", Errc::PostcardInvalidValue},
      {"scope 2", "0100" + kIdHex + "0002", Errc::PostcardInvalidValue},
      {"ttl over u16", "0001" + kAHex + "00808004", Errc::PostcardOverflow},
      {"non-minimal round", "01020083" "00", Errc::PostcardNonCanonical},
      {"truncated id", "0100" + repeat("11", 10), Errc::PostcardTruncated},
      {"huge vec length", "0003ffffffff0f", Errc::PostcardTruncated},
      {"huge IHave length", "0103ffffffff0f", Errc::PostcardTruncated},
      {"content runs past end", "0100" + kIdHex + "05" "6869", Errc::PostcardTruncated},
  };
  for (const auto& bad : cases) {
    auto decoded = decode_message(*from_hex(bad.hex));
    ASSERT_FALSE(decoded.has_value()) << bad.name;
    EXPECT_EQ(decoded.error().code(), bad.code) << bad.name << ": " << decoded.error().to_string();
    if (!bad.hex.empty()) {
      EXPECT_NE(decoded.error().message().find("offset"), std::string::npos) << bad.name;
    }
  }
}

TEST(GossipMessages, RandomMessagesRoundTrip) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    const Message message = testing::random_message(rng);
    const Bytes encoded = encode_message(message);
    auto decoded = decode_message(encoded);
    ASSERT_TRUE(decoded.has_value()) << message_name(message) << decoded.error().to_string();
    EXPECT_TRUE(*decoded == message) << message_name(message);
  }
}

// Mutated encodings and random bytes never crash; whatever decodes re-encodes to the input.
TEST(GossipMessages, MutatedInputDecodesCanonicallyOrFails) {
  std::mt19937_64 rng(11);
  int decoded_count = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes input = i % 4 == 0 ? testing::random_bytes(rng, 80)
                             : encode_message(testing::random_message(rng));
    if (!input.empty()) {
      for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) {
        switch (rng() % 3) {
          case 0: input[rng() % input.size()] = static_cast<std::uint8_t>(rng()); break;
          case 1: input.resize(rng() % input.size()); break;
          default: input.push_back(static_cast<std::uint8_t>(rng())); break;
        }
        if (input.empty()) break;
      }
    }
    auto decoded = decode_message(input);
    if (decoded) {
      ++decoded_count;
      EXPECT_EQ(to_hex(encode_message(*decoded)), to_hex(input));
    }
  }
  EXPECT_GT(decoded_count, 100);
}

TEST(GossipMessages, NamesEveryVariant) {
  EXPECT_EQ(message_name(Join{}), "Join");
  EXPECT_EQ(message_name(IHave{}), "IHave");
  EXPECT_EQ(message_name(Prune{}), "Prune");
}

}  // namespace
}  // namespace p2panda::gossip

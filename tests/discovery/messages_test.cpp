// PsiHashMessage wire format: hand-derived byte vectors (postcard, reference §4.1 and §5.5), strict
// and bounded decoding, and decode/encode stability under random and mutated input.
#include "discovery/messages.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace p2panda::discovery {
namespace {

std::string rep(const std::string& byte_hex, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += byte_hex;
  return out;
}

Bytes hex(const std::string& text) { return from_hex(text).value(); }

template <class T>
T filled(std::uint8_t byte) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(byte);
  return T(bytes);
}

void expect_vector(const PsiHashMessage& message, const std::string& expected_hex) {
  EXPECT_EQ(to_hex(encode_psi_hash(message)), expected_hex);
  auto decoded = decode_psi_hash(hex(expected_hex));
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(*decoded, message);
}

Errc decode_error(const std::string& text, const MessageLimits& limits = {}) {
  auto decoded = decode_psi_hash(hex(text), limits);
  EXPECT_FALSE(decoded);
  return decoded ? Errc::Io : decoded.error().code();
}

TEST(DiscoveryMessages, AliceSaltHalfIsVariantZeroAnd32RawBytes) {
  expect_vector(AliceSaltHalf{filled<SaltHalf>(0x11)}, "00" + rep("11", 32));
}

TEST(DiscoveryMessages, BobSaltHalfAndHashedDataWritesItsSetSorted) {
  const BobSaltHalfAndHashedData message{filled<SaltHalf>(0x22),
                                         {filled<HashedTopic>(0xbb), filled<HashedTopic>(0xaa)}};
  expect_vector(message, "01" + rep("22", 32) + "02" + "20" + rep("aa", 32) + "20" + rep("bb", 32));
}

TEST(DiscoveryMessages, AliceHashedData) {
  expect_vector(AliceHashedData{}, "0200");
  expect_vector(AliceHashedData{{filled<HashedTopic>(0xcc)}}, "020120" + rep("cc", 32));
}

// The transport info's own layout has its vectors in transport_info_vectors_test.cpp.
std::string info_hex(std::uint8_t id_byte) {
  return "0100" "40" + rep("00", 64) + "0100" + rep(to_hex(Bytes{id_byte}), 32) + "00";
}

TEST(DiscoveryMessages, NodesIsAMapOfIdToTransportInfo) {
  expect_vector(Nodes{}, "0300");
  const TransportInfo info{{1, 0}, {}, std::nullopt, {}};
  const Nodes message{{{filled<NodeId>(0x02), info}, {filled<NodeId>(0x01), info}}};
  expect_vector(message, "030220" + rep("01", 32) + info_hex(0x01) + "20" + rep("02", 32) +
                             info_hex(0x02));
}

TEST(DiscoveryMessages, SetsInAnyOrderDecodeToTheSameMessage) {
  const std::string unsorted =
      "0202"
      "20" +
      rep("bb", 32) + "20" + rep("aa", 32);
  auto decoded = decode_psi_hash(hex(unsorted));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, PsiHashMessage(
                          AliceHashedData{{filled<HashedTopic>(0xaa), filled<HashedTopic>(0xbb)}}));
  EXPECT_EQ(to_hex(encode_psi_hash(*decoded)),
            "0202"
            "20" +
                rep("aa", 32) + "20" + rep("bb", 32));
}

TEST(DiscoveryMessages, RefusesMalformedInput) {
  EXPECT_EQ(decode_error(""), Errc::PostcardTruncated);
  EXPECT_EQ(decode_error("04"), Errc::PostcardInvalidValue);  // unknown variant
  EXPECT_EQ(decode_error("8000"), Errc::PostcardNonCanonical);
  EXPECT_EQ(decode_error("00" + rep("11", 31)), Errc::PostcardTruncated);
  EXPECT_EQ(decode_error("00" + rep("11", 33)), Errc::PostcardTrailingBytes);
  EXPECT_EQ(decode_error("02011f" + rep("cc", 31) + "00"), Errc::PostcardInvalidValue);  // 31 bytes
  EXPECT_EQ(decode_error("0202"
                         "20" +
                         rep("aa", 32) + "20" + rep("aa", 32)),
            Errc::PostcardInvalidValue);  // repeated element
  EXPECT_EQ(decode_error("0301" "1f" + rep("01", 31) + rep("00", 200)),
            Errc::PostcardInvalidValue);  // a 31-byte node id
  // Map keys must be strictly ascending, as a BTreeMap writes them.
  EXPECT_EQ(decode_error("0302" "20" + rep("02", 32) + info_hex(0x02) + "20" + rep("01", 32) +
                         info_hex(0x01)),
            Errc::PostcardNonCanonical);
  EXPECT_EQ(decode_error("0302" "20" + rep("01", 32) + info_hex(0x01) + "20" + rep("01", 32) +
                         info_hex(0x01)),
            Errc::PostcardNonCanonical);
}

TEST(DiscoveryMessages, HostileCountsAllocateNothing) {
  EXPECT_EQ(decode_error("02"
                         "ffffffff0f"),
            Errc::PostcardInvalidValue);  // over the limit
  EXPECT_EQ(decode_error("03"
                         "ffffffff0f"),
            Errc::PostcardInvalidValue);
  const MessageLimits huge{.max_topics = SIZE_MAX, .max_nodes = SIZE_MAX, .transport_info = {}};
  EXPECT_EQ(decode_error("02"
                         "ffffffff0f",
                         huge),
            Errc::PostcardTruncated);
  EXPECT_EQ(decode_error("03"
                         "ffffffffffffffffff01",
                         huge),
            Errc::PostcardTruncated);
  EXPECT_EQ(decode_error("0202"
                         "20" +
                             rep("aa", 32),
                         huge),
            Errc::PostcardTruncated);
}

TEST(DiscoveryMessages, EnforcesConfiguredLimits) {
  const MessageLimits limits{.max_topics = 1, .max_nodes = 1, .transport_info = {1, 8}};
  const std::string two_topics =
      "0202"
      "20" +
      rep("aa", 32) + "20" + rep("bb", 32);
  EXPECT_EQ(decode_error(two_topics, limits), Errc::PostcardInvalidValue);
  EXPECT_TRUE(decode_psi_hash(hex("020120" + rep("aa", 32)), limits));
  EXPECT_EQ(decode_error("0302" "20" + rep("01", 32) + info_hex(0x01) + "20" + rep("02", 32) +
                             info_hex(0x02),
                         limits),
            Errc::PostcardInvalidValue);
  const std::string info_head = "0100" "40" + rep("00", 64) + "0100" + rep("01", 32);
  const std::string v4 = "0100" "7f000001" "09";
  EXPECT_EQ(decode_error("0301" "20" + rep("01", 32) + info_head + "02" + v4 + "0100" "7f000002" "09",
                         limits),
            Errc::PostcardInvalidValue);  // two addresses, one allowed
  EXPECT_EQ(decode_error("0301" "20" + rep("01", 32) + info_head + "01" "00" "09" + rep("61", 9),
                         limits),
            Errc::PostcardInvalidValue);  // a relay url of 9 bytes, 8 allowed
  EXPECT_TRUE(decode_psi_hash(hex("0301" "20" + rep("01", 32) + info_head + "02" + v4 + "00" "08" +
                                  rep("61", 8)),
                              limits));
}

TEST(DiscoveryMessages, MessageNames) {
  EXPECT_EQ(message_name(AliceSaltHalf{}), "AliceSaltHalf");
  EXPECT_EQ(message_name(BobSaltHalfAndHashedData{}), "BobSaltHalfAndHashedData");
  EXPECT_EQ(message_name(AliceHashedData{}), "AliceHashedData");
  EXPECT_EQ(message_name(Nodes{}), "Nodes");
}

// Whatever decodes encodes back to the same bytes, up to the order of set elements: the
// re-encoding has the same length and decodes to the same message.
void check_stable(const Bytes& input) {
  auto decoded = decode_psi_hash(input);
  if (!decoded) return;
  const Bytes again = encode_psi_hash(*decoded);
  ASSERT_EQ(again.size(), input.size());
  auto redecoded = decode_psi_hash(again);
  ASSERT_TRUE(redecoded);
  ASSERT_EQ(*redecoded, *decoded);
  ASSERT_EQ(encode_psi_hash(*redecoded), again);
  if (std::holds_alternative<AliceSaltHalf>(*decoded)) {
    ASSERT_EQ(again, input);  // no sets: byte for byte
  }
}

TEST(DiscoveryMessages, RandomAndMutatedInputIsHandled) {
  std::mt19937_64 rng(7);
  const std::vector<Bytes> seeds = {
      encode_psi_hash(AliceSaltHalf{filled<SaltHalf>(1)}),
      encode_psi_hash(BobSaltHalfAndHashedData{filled<SaltHalf>(2),
                                               {filled<HashedTopic>(3), filled<HashedTopic>(4)}}),
      encode_psi_hash(AliceHashedData{{filled<HashedTopic>(5)}}),
      encode_psi_hash(Nodes{{{filled<NodeId>(6), TransportInfo{{1, 2}, {}, "r", {}}},
                             {filled<NodeId>(7), TransportInfo{}}}}),
  };
  int decoded = 0;
  for (int i = 0; i < 40000; ++i) {
    Bytes input = seeds[rng() % seeds.size()];
    if (i % 4 == 0) {
      input.resize(rng() % 80);
      for (auto& byte : input) byte = static_cast<std::uint8_t>(rng());
    } else {
      for (int m = 0, n = 1 + static_cast<int>(rng() % 3); m < n && !input.empty(); ++m) {
        switch (rng() % 4) {
          case 0:
            input[rng() % input.size()] = static_cast<std::uint8_t>(rng());
            break;
          case 1:
            input[rng() % input.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            break;
          case 2:
            input.resize(rng() % input.size());
            break;
          default:
            input.insert(input.begin() + static_cast<std::ptrdiff_t>(rng() % input.size()),
                         static_cast<std::uint8_t>(rng()));
        }
      }
    }
    check_stable(input);
    if (decode_psi_hash(input)) ++decoded;
  }
  EXPECT_GT(decoded, 1000);  // the mutations reach the success paths too
}

}  // namespace
}  // namespace p2panda::discovery

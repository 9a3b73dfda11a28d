// The sync wire messages: the B5 frames of shared/vectors/p2panda-0.7.md byte for byte, strict
// decoding, and round trips of random and mutated messages.
#include "sync/messages.hpp"

#include <p2panda/extensions.hpp>
#include <random>

#include "../core/b3_operations.hpp"
#include "../core/test_util.hpp"
#include "core/frame.hpp"

namespace p2panda::sync {
namespace {

using test::b3_seq0;
using test::b3_seq1;
using test::fixture_key;
using test::kLogIdZeroTopic;
using test::hex;
using test::kPublic;



std::string framed_hex(ByteSpan payload) { return to_hex(*encode_frame(payload)); }

// encode(message) framed is the vector, and the vector's payload decodes to the message.
void expect_log_sync_vector(const TopicLogSyncMessage& message, const std::string& frame) {
  auto payload = encode_topic_log_sync(message);
  ASSERT_OK(payload);
  EXPECT_EQ(framed_hex(*payload), frame);
  const Bytes bytes = hex(frame);
  auto decoded = decode_topic_log_sync(ByteSpan(bytes).subspan(4));
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, message) << message_name(message);
}

TEST(SyncMessages, B5Handshake) {
  const std::string topic_frame =
      "00000022"
      "0020" +
      std::string(64, '0');
  EXPECT_EQ(framed_hex(encode_topic_handshake(HandshakeTopic{Topic{}})), topic_frame);
  EXPECT_EQ(framed_hex(encode_topic_handshake(HandshakeDone{})), "0000000101");
  const Bytes bytes = hex(topic_frame);
  auto topic = decode_topic_handshake(ByteSpan(bytes).subspan(4));
  ASSERT_OK(topic);
  EXPECT_EQ(*topic, TopicHandshakeMessage(HandshakeTopic{Topic{}}));
  auto done = decode_topic_handshake(hex("01"));
  ASSERT_OK(done);
  EXPECT_EQ(*done, TopicHandshakeMessage(HandshakeDone{}));
}

TEST(SyncMessages, B5LogSync) {
  const PublicKey author = fixture_key().public_key();
  expect_log_sync_vector(Have{}, "00000003000000");
  expect_log_sync_vector(Have{{{author, {{LogId::from_topic(Topic{}), SeqNum(1)}}}}},
                         "00000047000001"
                         "20" +
                             std::string(kPublic) + "0120" + std::string(kLogIdZeroTopic) + "01");
  expect_log_sync_vector(PreSync{2, 300}, "00000005000102ac02");
  const Operation seq0 = b3_seq0();
  expect_log_sync_vector(
      SyncOperation{seq0.header_bytes(), hex(test::kB3Body)},
      "000000cd0002b90187015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620584"
      "003dc572dcee1b039dc0d874b4d001a9adfaf34de980fdb5116a516f31f7bd6b7fc24ea7fc90487b311f98c9ec28"
      "36dce95877599904e16abb66f86fe0ca8f10e0e5820c6208537343f375abecc6811528fe87ed3b51f344765e7586"
      "f645bd05ed27e900085010058202ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda"
      "1b00060a24181e4000f4010e6d48656c6c6f2c2050616e646121");
  expect_log_sync_vector(SyncDone{}, "000000020003");
  expect_log_sync_vector(
      Live{b3_seq1().header(), std::nullopt},
      "000000b601070120e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620402b8484b4d"
      "298f17ae433dacbc00ab965c46b110fb065513540156bbab51358baf00d088082f39e4ec629b7b524e48487e8850"
      "316671e080f2a9a19983165f5060001203e99b5df1e513c29828328aecf5ee80a4f40838f6c7635db4db0371123"
      "107aaf050100202ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda8180f9c0c1c48"
      "2030100");
  expect_log_sync_vector(Close{}, "0000000102");
}

TEST(SyncMessages, LiveHeaderKeepsItsId) {
  const Operation seq1 = b3_seq1();
  auto payload = encode_topic_log_sync(Live{seq1.header(), Bytes{1, 2}});
  ASSERT_OK(payload);
  auto decoded = decode_topic_log_sync(*payload);
  ASSERT_OK(decoded);
  EXPECT_EQ(std::get<Live>(*decoded).header.id(), seq1.id());
  EXPECT_EQ(std::get<Live>(*decoded).body, (Bytes{1, 2}));
}

TEST(SyncMessages, HandshakeDecodingIsStrict) {
  EXPECT_ERRC(decode_topic_handshake({}), PostcardTruncated);
  EXPECT_ERRC(decode_topic_handshake(hex("02")), PostcardInvalidValue);
  EXPECT_ERRC(decode_topic_handshake(hex("0100")), PostcardTrailingBytes);
  EXPECT_ERRC(decode_topic_handshake(hex("8100")), PostcardNonCanonical);
  EXPECT_ERRC(decode_topic_handshake(hex("001f" + std::string(62, '0'))), PostcardInvalidValue);
  EXPECT_ERRC(decode_topic_handshake(hex("0020" + std::string(62, '0'))), PostcardTruncated);
  EXPECT_ERRC(decode_topic_handshake(hex("0020" + std::string(66, '0'))), PostcardTrailingBytes);
}

TEST(SyncMessages, LogSyncDecodingIsStrict) {
  EXPECT_ERRC(decode_topic_log_sync({}), PostcardTruncated);
  EXPECT_ERRC(decode_topic_log_sync(hex("03")), PostcardInvalidValue);
  EXPECT_ERRC(decode_topic_log_sync(hex("0004")), PostcardInvalidValue);
  EXPECT_ERRC(decode_topic_log_sync(hex("0200")), PostcardTrailingBytes);
  EXPECT_ERRC(decode_topic_log_sync(hex("000300")), PostcardTrailingBytes);
  EXPECT_ERRC(decode_topic_log_sync(hex("8200")), PostcardNonCanonical);
  // PreSync totals and seq numbers are u32.
  EXPECT_ERRC(decode_topic_log_sync(hex("0001"
                                        "8080808010"
                                        "00")),
              PostcardOverflow);
  // Operation: the Option tag is 0 or 1.
  EXPECT_ERRC(decode_topic_log_sync(hex("0002"
                                        "0100"
                                        "02")),
              PostcardInvalidValue);
  EXPECT_ERRC(decode_topic_log_sync(hex("0002"
                                        "0100")),
              PostcardTruncated);
  // Live: a header that is not one.
  EXPECT_ERRC(decode_topic_log_sync(hex("01"
                                        "07")),
              PostcardTruncated);
  auto error =
      decode_topic_log_sync(hex("0001"
                                "02"
                                "8080808010"));
  ASSERT_FALSE(error.has_value());
  EXPECT_NE(error.error().message().find("offset 3"), std::string::npos) << error.error().message();
}

std::string key_hex(std::uint8_t byte) { return "20" + to_hex(Bytes(32, byte)); }

TEST(SyncMessages, HaveMapsAreSortedAndBounded) {
  const std::string one_log = "01" + key_hex(9) + "05";
  ASSERT_OK(
      decode_topic_log_sync(hex("0000"
                                "02" +
                                key_hex(1) + one_log + key_hex(2) + one_log)));
  // Authors out of order, authors repeated, logs out of order, logs repeated.
  EXPECT_ERRC(decode_topic_log_sync(hex("0000"
                                        "02" +
                                        key_hex(2) + one_log + key_hex(1) + one_log)),
              PostcardNonCanonical);
  EXPECT_ERRC(decode_topic_log_sync(hex("0000"
                                        "02" +
                                        key_hex(1) + one_log + key_hex(1) + one_log)),
              PostcardNonCanonical);
  EXPECT_ERRC(decode_topic_log_sync(hex("0000"
                                        "01" +
                                        key_hex(1) + "02" + key_hex(3) + "01" + key_hex(2) + "01")),
              PostcardNonCanonical);
  EXPECT_ERRC(decode_topic_log_sync(hex("0000"
                                        "01" +
                                        key_hex(1) + "02" + key_hex(3) + "01" + key_hex(3) + "01")),
              PostcardNonCanonical);
  // A seq beyond u32, and keys of the wrong size.
  EXPECT_ERRC(decode_topic_log_sync(hex("0000"
                                        "01" +
                                        key_hex(1) + "01" + key_hex(2) + "8080808010")),
              PostcardOverflow);
  EXPECT_ERRC(decode_topic_log_sync(hex("0000"
                                        "01"
                                        "21" +
                                        to_hex(Bytes(33, 1)) + "00")),
              PostcardInvalidValue);
  // An author with no logs is a valid (if pointless) map entry and round-trips.
  ASSERT_OK(
      decode_topic_log_sync(hex("0000"
                                "01" +
                                key_hex(1) + "00")));
  // Counts far beyond what the payload can hold fail before any entry is read.
  EXPECT_ERRC(decode_topic_log_sync(hex("0000"
                                        "ffffffff0f")),
              PostcardTruncated);
  EXPECT_ERRC(decode_topic_log_sync(hex("0000"
                                        "ffffffffffffffffff01")),
              PostcardTruncated);
  EXPECT_ERRC(decode_topic_log_sync(hex("0000"
                                        "01" +
                                        key_hex(1) + "ffffffff0f")),
              PostcardTruncated);
}

TEST(SyncMessages, LiveNeedsTheBasicPostcardForm) {
  Header unsigned_header = b3_seq1().header();
  unsigned_header.signature.reset();
  EXPECT_ERRC(encode_topic_log_sync(Live{unsigned_header, std::nullopt}), SignatureMissing);
  Header bare = b3_seq1().header();
  bare.extensions.reset();
  EXPECT_ERRC(encode_topic_log_sync(Live{bare, std::nullopt}), ExtensionsMissing);
}

// ---- Properties over random messages ----

class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t below(std::uint64_t bound) { return engine_() % bound; }
  bool coin() { return below(2) == 1; }
  Bytes bytes(std::size_t max) {
    Bytes out(below(max + 1));
    for (auto& byte : out) byte = static_cast<std::uint8_t>(engine_());
    return out;
  }
  template <class T>
  T id() {
    Bytes raw(32);
    // Few distinct first bytes, so keys share prefixes and ordering is exercised.
    raw[0] = static_cast<std::uint8_t>(below(4));
    for (std::size_t i = 1; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(engine_());
    return *T::from_bytes(raw);
  }
  std::uint32_t u32() {
    static constexpr std::uint32_t kEdges[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX};
    return coin() ? kEdges[below(std::size(kEdges))] : static_cast<std::uint32_t>(engine_());
  }
  std::optional<Bytes> maybe_bytes(std::size_t max) {
    return coin() ? std::optional<Bytes>(bytes(max)) : std::nullopt;
  }

 private:
  std::mt19937_64 engine_;
};

TopicLogSyncMessage random_message(Random& random) {
  switch (random.below(6)) {
    case 0: {
      Have have;
      for (auto authors = random.below(4); authors > 0; --authors) {
        auto& logs = have.heights[random.id<PublicKey>()];
        for (auto n = random.below(4); n > 0; --n) logs[random.id<LogId>()] = SeqNum(random.u32());
      }
      return have;
    }
    case 1:
      return PreSync{random.u32(), random.u32()};
    case 2:
      return SyncOperation{random.bytes(300), random.maybe_bytes(200)};
    case 3:
      return SyncDone{};
    case 4: {
      const SeqNum seq(random.coin() ? 0 : random.u32());
      const Operation op = create_node_operation(
          fixture_key(),
          {.topic = random.id<Topic>(),
           .seq_num = seq,
           .backlink = seq.is_first() ? std::nullopt : std::optional(random.id<Hash>()),
           .timestamp = Timestamp(random.below(UINT64_MAX)),
           .prune = random.coin(),
           .body = random.coin() ? std::optional(Body(random.bytes(50))) : std::nullopt});
      return Live{op.header(), random.maybe_bytes(50)};
    }
    default:
      return Close{};
  }
}

TEST(SyncMessages, RandomMessagesRoundTrip) {
  Random random(7);
  for (int i = 0; i < 2000; ++i) {
    const TopicLogSyncMessage message = random_message(random);
    auto payload = encode_topic_log_sync(message);
    ASSERT_OK(payload);
    auto decoded = decode_topic_log_sync(*payload);
    ASSERT_OK(decoded);
    ASSERT_EQ(*decoded, message) << "iteration " << i << ": " << message_name(message);
  }
}

// Whatever decodes must encode back to exactly the bytes it came from.
void check_canonical(ByteSpan payload) {
  if (auto message = decode_topic_log_sync(payload)) {
    auto again = encode_topic_log_sync(*message);
    ASSERT_OK(again);
    ASSERT_EQ(to_hex(*again), to_hex(payload));
  }
  if (auto message = decode_topic_handshake(payload)) {
    ASSERT_EQ(to_hex(encode_topic_handshake(*message)), to_hex(payload));
  }
}

TEST(SyncMessages, MutatedAndRandomBytesNeverCrashAndStayCanonical) {
  Random random(11);
  std::vector<Bytes> seeds;
  for (int i = 0; i < 200; ++i) seeds.push_back(*encode_topic_log_sync(random_message(random)));
  seeds.push_back(encode_topic_handshake(HandshakeTopic{random.id<Topic>()}));
  for (int i = 0; i < 20000; ++i) {
    Bytes input = seeds[random.below(seeds.size())];
    for (auto edits = 1 + random.below(3); edits > 0; --edits) {
      const std::size_t at = input.empty() ? 0 : random.below(input.size());
      switch (random.below(4)) {
        case 0:
          if (!input.empty()) input[at] ^= static_cast<std::uint8_t>(1u << random.below(8));
          break;
        case 1:
          if (!input.empty()) input[at] = static_cast<std::uint8_t>(random.below(256));
          break;
        case 2:
          input.insert(input.begin() + static_cast<std::ptrdiff_t>(at),
                       static_cast<std::uint8_t>(random.below(256)));
          break;
        default:
          input.resize(at);
          break;
      }
    }
    check_canonical(input);
    check_canonical(random.bytes(40));
  }
}

}  // namespace
}  // namespace p2panda::sync

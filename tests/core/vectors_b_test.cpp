// Section B of shared/vectors/p2panda-0.7.md: values an independent implementation derived from
// p2panda's rules (not in p2panda's repository). docs/vectors.md records the result of checking
// each against this implementation.
#include <p2panda/ephemeral.hpp>
#include <p2panda/extensions.hpp>
#include <p2panda/log_heights.hpp>

#include "core/cbor.hpp"
#include "core/frame.hpp"
#include "core/header_postcard.hpp"
#include "b3_operations.hpp"
#include "test_util.hpp"

namespace p2panda {
namespace {

using test::b3_seq0;
using test::b3_seq1;
using test::fixture_key;
using test::kLogIdZeroTopic;
using test::hex;
using test::kPublic;

constexpr std::string_view kB3Seq0 =
    "87015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620584003dc572dcee1b039dc"
    "0d874b4d001a9adfaf34de980fdb5116a516f31f7bd6b7fc24ea7fc90487b311f98c9ec2836dce95877599904e16ab"
    "b66f86fe0ca8f10e0e5820c6208537343f375abecc6811528fe87ed3b51f344765e7586f645bd05ed27e9000850100"
    "58202ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda1b00060a24181e4000f4";
constexpr std::string_view kB3Seq1 =
    "87015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b5162058402b8484b4d298f17ae4"
    "33dacbc00ab965c46b110fb065513540156bbab51358baf00d088082f39e4ec629b7b524e48487e8850316671e080f"
    "2a9a19983165f506000158203e99b5df1e513c29828328aecf5ee80a4f40838f6c7635db4db0371123107aaf850100"
    "58202ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda1b00060a24181e4001f5";



TEST(VectorsB, B1Alpns) {
  const NetworkId network = NetworkId::default_id();
  EXPECT_EQ(to_hex(protocol_alpn("p2panda/log_sync/v1", network)),
            "64fc91f9ab01b19d29bd8a040e4624be0b164fffd4f32dbfac635c039c5279a5");
  EXPECT_EQ(to_hex(protocol_alpn("p2panda/confidential_discovery/v1", network)),
            "8c07b2107cbeaf450e3a17e47c499e8e0fd7549b9c5bdada49c9f9856af16f96");
  EXPECT_EQ(to_hex(protocol_alpn("/iroh-gossip/1", network)),
            "66c8b9a2c148fcd117ed8521a9150a9cca90bf0efc4a0b658a6c411eb00a4eae");
}

TEST(VectorsB, B2TopicDerivedIds) {
  const Topic zero;
  EXPECT_EQ(LogId::from_topic(zero).to_hex(), kLogIdZeroTopic);
  const Bytes mix = hex("fd06fbd9ade4d7f482b5968edcf431db235ea3c5e55d8fe3613d26ca3ffa1ae9");
  EXPECT_EQ(Hasher().update(zero.bytes()).update(mix).finalize().to_hex(),
            "6be60bc68838827179c20920dfd1ca2e451d84f61b943dd002eab8c2649c9813");
}

TEST(VectorsB, B3NodeOperations) {
  const Operation seq0 = b3_seq0();
  EXPECT_EQ(to_hex(*seq0.header().extensions),
            "850100" "5820" + std::string(kLogIdZeroTopic) + "1b00060a24181e4000f4");
  EXPECT_EQ(seq0.header().payload_hash->to_hex(),
            "c6208537343f375abecc6811528fe87ed3b51f344765e7586f645bd05ed27e90");
  EXPECT_EQ(seq0.header().payload_size, 14u);
  EXPECT_EQ(to_hex(seq0.header_bytes()), kB3Seq0);
  EXPECT_EQ(seq0.id().to_hex(), "3e99b5df1e513c29828328aecf5ee80a4f40838f6c7635db4db0371123107aaf");
  ASSERT_OK(validate_operation(seq0));
  ASSERT_OK(validate_topic(seq0.header(), Topic{}));

  const Operation seq1 = b3_seq1();
  EXPECT_EQ(to_hex(seq1.header_bytes()), kB3Seq1);
  EXPECT_EQ(seq1.id().to_hex(), "401bda88c22549803a227c97e8429c4e0251bac7be24773f31c012c557f79909");
  ASSERT_OK(validate_operation(seq1));
  auto extensions = node_extensions(seq1.header());
  ASSERT_OK(extensions);
  EXPECT_TRUE(extensions->prune);
  EXPECT_EQ(extensions->timestamp, Timestamp(test::kB3Timestamp + 1));

  // And decoding the published bytes gives the same operations back.
  auto decoded = Operation::decode(hex(kB3Seq0), Body(hex(test::kB3Body)));
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, seq0);
}

TEST(VectorsB, B4AckCursor) {
  Cursor cursor(std::string(64, '0'));
  const PublicKey author = fixture_key().public_key();
  cursor.advance(author, LogId::from_topic(Topic{}), SeqNum(1));
  const std::string expected = "827840" + to_hex(as_bytes(std::string(64, '0'))) + "a15820" +
                               std::string(kPublic) + "a15820" + std::string(kLogIdZeroTopic) +
                               "01";
  EXPECT_EQ(to_hex(cursor.encode()), expected);
  auto decoded = Cursor::decode(hex(expected));
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, cursor);
}

// B5 frames: the envelopes of TopicHandshake and TopicLogSync (postcard enums: a varint variant
// index, then the fields). The sync layer owns these messages; here we check the encodings they
// are built from.
Bytes frame(const postcard::Writer& writer) { return *encode_frame(writer.data()); }

TEST(VectorsB, B5HandshakeAndControlFrames) {
  const Topic zero;
  EXPECT_EQ(to_hex(frame(postcard::Writer().varint(0).bytes(zero.bytes()))),
            "00000022" "0020" + std::string(64, '0'));
  EXPECT_EQ(to_hex(frame(postcard::Writer().varint(1))), "0000000101");
  EXPECT_EQ(to_hex(frame(postcard::Writer().varint(0).varint(0).varint(0))), "00000003000000");
  EXPECT_EQ(to_hex(frame(postcard::Writer()
                             .varint(0)
                             .varint(0)
                             .varint(1)
                             .bytes(fixture_key().public_key().bytes())
                             .varint(1)
                             .bytes(LogId::from_topic(zero).bytes())
                             .varint(1))),
            "00000047000001" "20" + std::string(kPublic) + "0120" + std::string(kLogIdZeroTopic) +
                "01");
  EXPECT_EQ(to_hex(frame(postcard::Writer().varint(0).varint(1).varint(2).varint(300))),
            "000000050001" "02ac02");
  EXPECT_EQ(to_hex(frame(postcard::Writer().varint(0).varint(3))), "000000020003");
  EXPECT_EQ(to_hex(frame(postcard::Writer().varint(2))), "0000000102");
}

TEST(VectorsB, B5OperationFrame) {
  const Operation seq0 = b3_seq0();
  postcard::Writer writer;
  writer.varint(0).varint(2).bytes(seq0.header_bytes()).u8(1).bytes(seq0.body()->bytes());
  EXPECT_EQ(to_hex(frame(writer)), "000000cd0002b901" + std::string(kB3Seq0) + "010e" +
                                       std::string(test::kB3Body));
}

TEST(VectorsB, B5LiveFrameCarriesThePostcardHeader) {
  const Operation seq1 = b3_seq1();
  postcard::Writer writer;
  writer.varint(1);
  ASSERT_OK(write_header_postcard(writer, seq1.header()));
  writer.u8(0);  // body: None
  const std::string expected =
      "000000b601070120e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b5162040"
      "2b8484b4d298f17ae433dacbc00ab965c46b110fb065513540156bbab51358baf00d088082f39e4ec629b7b524e4"
      "8487e8850316671e080f2a9a19983165f5060001203e99b5df1e513c29828328aecf5ee80a4f40838f6c7635db4d"
      "b0371123107aaf050100202ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda8180f9"
      "c0c1c482030100";
  EXPECT_EQ(to_hex(frame(writer)), expected);

  // Decoding the frame's header gives back the signed CBOR header, with the same id.
  const Bytes bytes = hex(expected);
  postcard::Reader reader(ByteSpan(bytes).subspan(5));
  auto header = read_header_postcard(reader);
  ASSERT_OK(header);
  EXPECT_EQ(header->encode(), seq1.header_bytes());
  auto body = reader.u8();
  ASSERT_OK(body);
  EXPECT_EQ(*body, 0);
  ASSERT_OK(reader.expect_end());
}

TEST(VectorsB, B6EphemeralMessage) {
  auto message = EphemeralMessage::create(fixture_key(), Timestamp(test::kB3Timestamp), 0, hex("624869"));
  ASSERT_OK(message);
  EXPECT_EQ(to_hex(message->encode_unsigned()),
            "85015820" + std::string(kPublic) + "1b00060a24181e400000624869");
  const std::string wire =
      "86015820" + std::string(kPublic) +
      "5840f18a91c2cffd111d458c7e68e40ff3bc379b9fcb0341cfee9c346292ec3f366490ec5f426a963548c88dac38"
      "c190bd0ace727366e5c4c347369c06a8a67683051b00060a24181e400000624869";
  EXPECT_EQ(to_hex(message->encode()), wire);
  auto decoded = EphemeralMessage::decode(hex(wire));
  ASSERT_OK(decoded);
  ASSERT_OK(decoded->verify());
  EXPECT_EQ(decoded->body(), hex("624869"));
}

}  // namespace
}  // namespace p2panda

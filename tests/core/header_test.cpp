// Header and operation rules: each broken rule yields its own error code.
#include <p2panda/extensions.hpp>

#include "core/cbor.hpp"
#include "test_util.hpp"

namespace p2panda {
namespace {

const PrivateKey& key() {
  static const PrivateKey k = PrivateKey::generate();
  return k;
}

Operation op(std::uint32_t seq, std::optional<Hash> backlink, std::optional<Body> body,
             bool prune = false, const Topic& topic = Topic{}) {
  return create_node_operation(key(), {.topic = topic,
                                       .seq_num = SeqNum(seq),
                                       .backlink = backlink,
                                       .timestamp = Timestamp(1000 + seq),
                                       .prune = prune,
                                       .body = std::move(body)});
}

// Re-signs a header after a test broke one of its fields on purpose.
Operation resign(Header header, std::optional<Body> body) {
  header.sign(key());
  auto operation = Operation::decode(header.encode(), std::move(body));
  EXPECT_TRUE(operation.has_value());
  return *operation;
}

TEST(HeaderRules, ValidOperationsPass) {
  const Operation first = op(0, std::nullopt, Body(Bytes{1, 2, 3}));
  ASSERT_OK(validate_operation(first));
  const Operation second = op(1, first.id(), std::nullopt);
  ASSERT_OK(validate_operation(second));
  ASSERT_OK(validate_backlink(first, second.header()));
}

TEST(HeaderRules, EachRuleHasItsOwnError) {
  const Operation base = op(0, std::nullopt, Body(Bytes{1, 2, 3}));

  Header unsigned_header = base.header();
  unsigned_header.signature.reset();
  auto decoded_unsigned = Header::decode(unsigned_header.encode());
  ASSERT_OK(decoded_unsigned);  // unsigned headers decode, so the rule can be named
  EXPECT_ERRC(validate_header(*decoded_unsigned), SignatureMissing);

  Header bad_signature = base.header();
  auto signature = bad_signature.signature->array();
  signature[0] ^= 0x80;
  bad_signature.signature = Signature(signature);
  EXPECT_ERRC(validate_header(bad_signature), SignatureInvalid);

  Header version = base.header();
  version.version = 2;
  EXPECT_ERRC(validate_header(resign(version, std::nullopt).header()), VersionUnsupported);

  Header hash_missing = base.header();
  hash_missing.payload_hash.reset();
  hash_missing.sign(key());
  EXPECT_ERRC(validate_header(hash_missing), PayloadHashMissing);

  Header hash_unexpected = base.header();
  hash_unexpected.payload_size = 0;
  hash_unexpected.sign(key());
  EXPECT_ERRC(validate_header(hash_unexpected), PayloadHashUnexpected);

  Header backlink_missing = op(1, Hash{}, std::nullopt).header();
  backlink_missing.backlink.reset();
  backlink_missing.sign(key());
  EXPECT_ERRC(validate_header(backlink_missing), BacklinkMissing);

  Header backlink_unexpected = base.header();
  backlink_unexpected.backlink = Hash{};
  backlink_unexpected.sign(key());
  EXPECT_ERRC(validate_header(backlink_unexpected), BacklinkUnexpected);

  auto wrong_size = Operation::decode(base.header_bytes(), Body(Bytes{1, 2}));
  ASSERT_OK(wrong_size);
  EXPECT_ERRC(validate_operation(*wrong_size), PayloadSizeMismatch);
  auto wrong_hash = Operation::decode(base.header_bytes(), Body(Bytes{1, 2, 4}));
  ASSERT_OK(wrong_hash);
  EXPECT_ERRC(validate_operation(*wrong_hash), PayloadHashMismatch);

  auto no_body = Operation::decode(base.header_bytes(), std::nullopt);
  ASSERT_OK(no_body);
  ASSERT_OK(validate_operation(*no_body));  // a missing body is allowed (pruned payload)
}

TEST(HeaderRules, BacklinkRules) {
  const Operation first = op(0, std::nullopt, std::nullopt);
  const Operation second = op(1, first.id(), std::nullopt);
  const Operation third = op(2, second.id(), std::nullopt);

  EXPECT_ERRC(validate_backlink(first, third.header()), SeqNumNonIncremental);
  EXPECT_ERRC(validate_backlink(first, op(1, Hash{}, std::nullopt).header()), BacklinkMismatch);
  const PrivateKey other = PrivateKey::generate();
  Header foreign = second.header();
  foreign.sign(other);
  EXPECT_ERRC(validate_backlink(first, foreign), AuthorMismatch);

  // Ingest's rule with pruning.
  ASSERT_OK(validate_prunable_backlink(nullptr, first.header(), false));
  EXPECT_ERRC(validate_prunable_backlink(&first, first.header(), false), SeqNumNonIncremental);
  ASSERT_OK(validate_prunable_backlink(&first, second.header(), false));
  EXPECT_ERRC(validate_prunable_backlink(nullptr, third.header(), false), BacklinkMissing);
  ASSERT_OK(validate_prunable_backlink(nullptr, third.header(), true));  // pruned below
  EXPECT_ERRC(validate_prunable_backlink(&first, third.header(), false), SeqNumNonIncremental);
}

TEST(HeaderRules, TopicAndExtensions) {
  const Topic topic = Topic::random();
  const Operation operation = op(0, std::nullopt, std::nullopt, false, topic);
  ASSERT_OK(validate_topic(operation.header(), topic));
  EXPECT_ERRC(validate_topic(operation.header(), Topic::random()), LogIdMismatch);

  Header bare = operation.header();
  bare.extensions.reset();
  EXPECT_ERRC(node_extensions(bare), ExtensionsMissing);
  bare.extensions = cbor::Writer().array(5).uint(2).uint(0).data();
  EXPECT_ERRC(node_extensions(bare), ExtensionsUnsupported);
  bare.extensions = cbor::Writer().array(2).uint(1).uint(7).data();
  EXPECT_ERRC(node_extensions(bare), ExtensionsUnsupported);
  bare.extensions = cbor::Writer().array(3).uint(1).uint(0).bytes(Bytes(32)).data();
  EXPECT_ERRC(node_extensions(bare), ExtensionsMalformed);
}

TEST(HeaderRules, UnknownExtensionFieldsStaySigned) {
  // A future writer appends a field; we keep it and the signature still verifies (p2panda 0.7
  // re-encodes without it and fails).
  NodeExtensions extensions;
  extensions.log_id = LogId::from_topic(Topic{});
  extensions.timestamp = Timestamp(42);
  extensions.extra_fields.push_back(cbor::Writer().text("future").data());
  Header header;
  header.extensions = extensions.encode();
  const Operation operation = Operation::create(key(), header, std::nullopt);

  auto decoded = Operation::decode(operation.header_bytes(), std::nullopt);
  ASSERT_OK(decoded);
  ASSERT_OK(validate_operation(*decoded));
  auto parsed = node_extensions(decoded->header());
  ASSERT_OK(parsed);
  ASSERT_EQ(parsed->extra_fields.size(), 1u);
  EXPECT_EQ(parsed->encode(), *decoded->header().extensions);
}

TEST(HeaderDecode, RejectsMalformedShapes) {
  const Operation base = op(1, Hash{}, Body(Bytes{5}));
  const Bytes good = base.header_bytes();
  ASSERT_OK(Header::decode(good));

  Bytes excess = good;
  excess[0] = static_cast<std::uint8_t>(excess[0] + 1);
  excess.push_back(0x00);
  EXPECT_ERRC(Header::decode(excess), HeaderMalformed);

  Bytes trailing = good;
  trailing.push_back(0x00);
  EXPECT_ERRC(Header::decode(trailing), CborTrailingBytes);

  EXPECT_ERRC(Header::decode(cbor::Writer().array(3).uint(1).uint(2).uint(3).data()),
              HeaderMalformed);
  EXPECT_ERRC(Header::decode(cbor::Writer().array(5).uint(70000).data()), HeaderMalformed);
  EXPECT_ERRC(Header::decode(cbor::Writer().array(5).uint(1).bytes(Bytes(31)).data()),
              HeaderMalformed);
  EXPECT_ERRC(Header::decode(cbor::Writer().uint(1).data()), CborTypeMismatch);

  // A non-minimal integer inside an otherwise valid header: refused, so ids stay unambiguous.
  cbor::Writer overlong;
  overlong.array(4).uint(1).bytes(key().public_key().bytes()).raw(Bytes{0x18, 0x00}).uint(0);
  EXPECT_ERRC(Header::decode(overlong.data()), CborNonCanonical);
}

}  // namespace
}  // namespace p2panda

// Strict CBOR: table-driven accept/reject cases. Each rejected input names the rule it breaks.
#include "core/cbor.hpp"
#include "test_util.hpp"

namespace p2panda::cbor {
namespace {

using test::hex;

struct Case {
  std::string_view name;
  std::string_view input;
  std::optional<Errc> error;  // nullopt: a valid item
};

const Case kItems[] = {
    {"small uint", "17", std::nullopt},
    {"uint8", "1818", std::nullopt},
    {"uint16", "190100", std::nullopt},
    {"uint32", "1a00010000", std::nullopt},
    {"uint64", "1b0000000100000000", std::nullopt},
    {"negative", "3863", std::nullopt},
    {"bytes", "43010203", std::nullopt},
    {"text", "6568656c6c6f", std::nullopt},
    {"text utf-8", "62c3a9", std::nullopt},
    {"array", "83010203", std::nullopt},
    {"map", "a2616101616202", std::nullopt},
    {"false true null", "83f4f5f6", std::nullopt},
    {"half float", "f93c00", std::nullopt},
    {"single float", "fa47c35000", std::nullopt},
    {"double float", "fb3ff199999999999a", std::nullopt},
    {"canonical NaN", "f97e00", std::nullopt},
    {"uint8 below 24", "1817", Errc::CborNonCanonical},
    {"uint16 below 256", "1900ff", Errc::CborNonCanonical},
    {"uint32 below 65536", "1a0000ffff", Errc::CborNonCanonical},
    {"uint64 below 2^32", "1b00000000ffffffff", Errc::CborNonCanonical},
    {"long byte string length", "5803010203", Errc::CborNonCanonical},
    {"indefinite bytes", "5f42010243030405ff", Errc::CborIndefiniteLength},
    {"indefinite array", "9f0102ff", Errc::CborIndefiniteLength},
    {"indefinite map", "bf616101ff", Errc::CborIndefiniteLength},
    {"lone break", "ff", Errc::CborIndefiniteLength},
    {"tag", "c11a514b67b0", Errc::CborTagNotAllowed},
    {"nested tag", "81c100", Errc::CborTagNotAllowed},
    {"reserved info 28", "1c", Errc::CborReservedValue},
    {"simple value 16", "f0", Errc::CborReservedValue},
    {"simple value in two bytes", "f820", Errc::CborReservedValue},
    {"undefined", "f7", Errc::CborReservedValue},
    {"float that fits a half", "fa3f800000", Errc::CborNonCanonical},
    {"double that fits a single", "fb3ff0000000000000", Errc::CborNonCanonical},
    {"non-canonical NaN", "f97e01", Errc::CborNonCanonical},
    {"overlong UTF-8", "62c0af", Errc::CborInvalidUtf8},
    {"UTF-8 surrogate", "63eda080", Errc::CborInvalidUtf8},
    {"truncated head", "19ff", Errc::CborTruncated},
    {"truncated bytes", "4401", Errc::CborTruncated},
    {"array longer than input", "9affffffff00", Errc::CborTruncated},
    {"empty input", "", Errc::CborTruncated},
    {"trailing bytes", "0102", Errc::CborTrailingBytes},
};

TEST(Cbor, ValidatesItemsStrictly) {
  for (const auto& c : kItems) {
    SCOPED_TRACE(c.name);
    const Bytes input = hex(c.input);
    auto result = validate_item(input);
    if (!c.error) {
      EXPECT_TRUE(result.has_value()) << result.error().to_string();
    } else {
      ASSERT_FALSE(result.has_value());
      EXPECT_EQ(result.error().code(), *c.error) << result.error().to_string();
      EXPECT_NE(result.error().message().find("offset"), std::string::npos);
    }
  }
}

TEST(Cbor, WriterUsesShortestHeads) {
  EXPECT_EQ(Writer().uint(0).data(), hex("00"));
  EXPECT_EQ(Writer().uint(23).data(), hex("17"));
  EXPECT_EQ(Writer().uint(24).data(), hex("1818"));
  EXPECT_EQ(Writer().uint(255).data(), hex("18ff"));
  EXPECT_EQ(Writer().uint(256).data(), hex("190100"));
  EXPECT_EQ(Writer().uint(65535).data(), hex("19ffff"));
  EXPECT_EQ(Writer().uint(65536).data(), hex("1a00010000"));
  EXPECT_EQ(Writer().uint(0xffffffffULL).data(), hex("1affffffff"));
  EXPECT_EQ(Writer().uint(0x100000000ULL).data(), hex("1b0000000100000000"));
  EXPECT_EQ(Writer().negative(99).data(), hex("3863"));
  EXPECT_EQ(Writer().text("hello").data(), hex("6568656c6c6f"));
  EXPECT_EQ(Writer().array(3).null().boolean(true).boolean(false).data(), hex("83f6f5f4"));
}

TEST(Cbor, TypedReadsReportWhatTheyFound) {
  const Bytes input = hex("8243010203");
  Reader reader(input);
  auto mismatch = reader.read_map();
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code(), Errc::CborTypeMismatch);
  EXPECT_EQ(mismatch.error().message(), "cbor: expected map, found array at offset 0");
  EXPECT_EQ(reader.offset(), 0u);  // a failed read consumes nothing
  ASSERT_OK(reader.read_array());
  auto bytes = reader.read_bytes();
  ASSERT_OK(bytes);
  EXPECT_EQ(Bytes(bytes->begin(), bytes->end()), (Bytes{1, 2, 3}));
  ASSERT_OK(reader.expect_end());
}

TEST(Cbor, RejectsDeepNesting) {
  Bytes deep(kMaxDepth + 2, 0x81);
  deep.push_back(0x00);
  EXPECT_ERRC(validate_item(deep), CborTooDeep);
  Bytes shallow(kMaxDepth, 0x81);
  shallow.push_back(0x00);
  EXPECT_TRUE(validate_item(shallow).has_value());
}

TEST(Cbor, RoundTripsEveryIntegerWidth) {
  for (std::uint64_t value : {0ULL, 1ULL, 23ULL, 24ULL, 255ULL, 256ULL, 65535ULL, 65536ULL,
                              0xffffffffULL, 0x100000000ULL, ~0ULL}) {
    const Bytes encoded = Writer().uint(value).data();
    Reader reader(encoded);
    auto decoded = reader.read_uint();
    ASSERT_OK(decoded);
    EXPECT_EQ(*decoded, value);
    EXPECT_TRUE(reader.at_end());
  }
}

}  // namespace
}  // namespace p2panda::cbor

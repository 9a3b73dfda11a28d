#include "core/postcard.hpp"
#include "test_util.hpp"

namespace p2panda::postcard {
namespace {

using test::hex;

TEST(Postcard, VarintsRoundTripInShortestForm) {
  const std::pair<std::uint64_t, std::string_view> kCases[] = {
      {0, "00"},     {1, "01"},       {127, "7f"},           {128, "8001"},
      {300, "ac02"}, {16384, "808001"}, {~0ULL, "ffffffffffffffffff01"}};
  for (const auto& [value, encoding] : kCases) {
    SCOPED_TRACE(value);
    EXPECT_EQ(Writer().varint(value).data(), hex(encoding));
    const Bytes bytes = hex(encoding);
    Reader reader(bytes);
    auto decoded = reader.varint();
    ASSERT_OK(decoded);
    EXPECT_EQ(*decoded, value);
    ASSERT_OK(reader.expect_end());
  }
}

TEST(Postcard, RejectsBadVarints) {
  const std::pair<std::string_view, Errc> kCases[] = {
      {"8000", Errc::PostcardNonCanonical},
      {"ff00", Errc::PostcardNonCanonical},
      {"80", Errc::PostcardTruncated},
      {"", Errc::PostcardTruncated},
      {"ffffffffffffffffff02", Errc::PostcardOverflow},
      {"ffffffffffffffffff8001", Errc::PostcardOverflow},
  };
  for (const auto& [encoding, errc] : kCases) {
    SCOPED_TRACE(encoding);
    const Bytes bytes = hex(encoding);
    Reader reader(bytes);
    auto decoded = reader.varint();
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code(), errc) << decoded.error().to_string();
    EXPECT_EQ(reader.offset(), 0u);
  }
}

TEST(Postcard, EnforcesTheRequestedWidth) {
  const Bytes bytes = hex("8080808010");  // 2^32
  Reader reader(bytes);
  EXPECT_ERRC(reader.varint(UINT32_MAX), PostcardOverflow);
  auto wide = reader.varint();
  ASSERT_OK(wide);
  EXPECT_EQ(*wide, 1ULL << 32);
}

TEST(Postcard, BoolsAndBytes) {
  const Bytes bytes = hex("0100" "03616263" "02" "05ab");
  Reader reader(bytes);
  auto t = reader.boolean();
  auto f = reader.boolean();
  ASSERT_OK(t);
  ASSERT_OK(f);
  EXPECT_TRUE(*t);
  EXPECT_FALSE(*f);
  auto abc = reader.bytes();
  ASSERT_OK(abc);
  EXPECT_EQ(abc->size(), 3u);
  EXPECT_ERRC(reader.boolean(), PostcardInvalidValue);
  ASSERT_OK(reader.u8());
  EXPECT_ERRC(reader.bytes(), PostcardTruncated);
}

}  // namespace
}  // namespace p2panda::postcard

#include <p2panda/ids.hpp>

#include "test_util.hpp"

namespace p2panda {
namespace {

TEST(Encoding, HexRoundTripsAndNamesBadDigits) {
  EXPECT_EQ(to_hex(Bytes{0x00, 0xab, 0xff}), "00abff");
  auto upper = from_hex("00ABff");
  ASSERT_OK(upper);
  EXPECT_EQ(*upper, (Bytes{0x00, 0xab, 0xff}));
  EXPECT_ERRC(from_hex("abc"), InvalidHex);
  auto bad = from_hex("00zz");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("position 2"), std::string::npos);
}

TEST(Encoding, Base32MatchesRfc4648Lowercase) {
  // RFC 4648 §10 test vectors, lowercase and without padding.
  const std::pair<std::string_view, std::string_view> kCases[] = {
      {"", ""},          {"f", "my"},           {"fo", "mzxq"},          {"foo", "mzxw6"},
      {"foob", "mzxw6yq"}, {"fooba", "mzxw6ytb"}, {"foobar", "mzxw6ytboi"}};
  for (const auto& [plain, encoded] : kCases) {
    EXPECT_EQ(to_base32(as_bytes(plain)), encoded);
    auto decoded = from_base32(encoded);
    ASSERT_OK(decoded);
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
  EXPECT_ERRC(from_base32("m"), InvalidBase32);       // impossible length
  EXPECT_ERRC(from_base32("mz"), InvalidBase32);      // non-zero trailing bits
  EXPECT_ERRC(from_base32("my!"), InvalidBase32);
  auto upper = from_base32("MZXW6");
  ASSERT_OK(upper);
}

TEST(Encoding, FixedBytesCheckLength) {
  EXPECT_ERRC(Hash::from_bytes(Bytes(31)), InvalidLength);
  EXPECT_ERRC(Topic::from_hex("00"), InvalidLength);
  EXPECT_ERRC(LogId::from_hex("zz"), InvalidHex);
  const Topic topic = Topic::random();
  auto parsed = Topic::from_hex(topic.to_hex());
  ASSERT_OK(parsed);
  EXPECT_EQ(*parsed, topic);
  EXPECT_EQ(topic.to_base32().size(), 52u);
  EXPECT_NE(Topic::random(), Topic::random());
}

TEST(Encoding, IdsOrderBytewise) {
  auto low = Hash::from_hex(std::string(62, '0') + "ff");
  auto high = Hash::from_hex("01" + std::string(62, '0'));
  ASSERT_OK(low);
  ASSERT_OK(high);
  EXPECT_LT(*low, *high);
}

TEST(Encoding, ErrorsConvertToErrorCodes) {
  const std::error_code code = Errc::BacklinkMismatch;
  EXPECT_EQ(code.category().name(), std::string("p2panda"));
  EXPECT_EQ(code.message(), "BacklinkMismatch");
  const Error error(Errc::InvalidHex, "x");
  EXPECT_EQ(error.to_string(), "InvalidHex: x");
  EXPECT_EQ(error.error_code(), make_error_code(Errc::InvalidHex));
}

}  // namespace
}  // namespace p2panda

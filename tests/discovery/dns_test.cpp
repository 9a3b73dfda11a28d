// The DNS message codec: round trips, compression pointers, and refusal of malformed input.
#include "discovery/dns.hpp"

#include <gtest/gtest.h>

namespace p2panda::discovery::dns {
namespace {

Message sample() {
  Message message;
  message.flags = kFlagResponse | kFlagAuthoritative;
  const Name own{"abc", "_p2pandav1", "_udp", "local"};
  const Name target{"abc-9", "local"};
  message.answers.push_back(
      {own, static_cast<std::uint16_t>(Type::Srv), kClassIn, 0, Srv{0, 0, 9, target}});
  message.answers.push_back(
      {own, static_cast<std::uint16_t>(Type::Txt), kClassIn, 0, Txt{{"user-data=x|1/2", "flag"}}});
  message.additionals.push_back(
      {target, static_cast<std::uint16_t>(Type::A), kClassIn, 0, V4{127, 0, 0, 1}});
  V6 v6{};
  v6[15] = 1;
  message.additionals.push_back({target, static_cast<std::uint16_t>(Type::Aaaa), kClassIn, 0, v6});
  return message;
}

TEST(Dns, RoundTrips) {
  auto bytes = encode(sample());
  ASSERT_TRUE(bytes) << bytes.error().message();
  auto back = decode(*bytes);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, sample());
}

TEST(Dns, QueryBytes) {
  Message query;
  query.questions.push_back({{"_p2pandav1", "_udp", "local"}, 12, kClassIn});
  auto bytes = encode(query);
  ASSERT_TRUE(bytes);
  const Bytes expected = {0,   0,   0,   0,   0,   1,   0,   0,   0,   0,   0,  0,   10,
                          '_', 'p', '2', 'p', 'a', 'n', 'd', 'a', 'v', '1', 4,  '_', 'u',
                          'd', 'p', 5,   'l', 'o', 'c', 'a', 'l', 0,   0,   12, 0,   1};
  EXPECT_EQ(*bytes, expected);
}

TEST(Dns, FollowsBackwardPointers) {
  // A question "_x.local" and an answer whose name is a pointer to offset 12 (the question's).
  Bytes bytes = {0, 0, 0x84, 0, 0, 1,    0,  1, 0, 0, 0, 0, 2, '_', 'x', 5, 'l', 'o', 'c', 'a', 'l',
                 0, 0, 12,   0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0,   0,   0, 4,   10,  0,   0,   1};
  auto message = decode(bytes);
  ASSERT_TRUE(message) << message.error().message();
  ASSERT_EQ(message->answers.size(), 1u);
  EXPECT_EQ(message->answers[0].name, (Name{"_x", "local"}));
  EXPECT_EQ(std::get<V4>(message->answers[0].data), (V4{10, 0, 0, 1}));
}

TEST(Dns, RefusesLoopsTruncationAndTrailingBytes) {
  // A pointer to itself.
  Bytes loop = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1};
  EXPECT_FALSE(decode(loop));
  auto good = *encode(sample());
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(decode(ByteSpan(good.data(), cut))) << cut;
  }
  good.push_back(0);
  EXPECT_FALSE(decode(good));
  // An A record with 5 bytes of rdata.
  Bytes wrong = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                 1, 0, 1,    0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5};
  EXPECT_FALSE(decode(wrong));
}

TEST(Dns, RefusesBadNamesWhenEncoding) {
  Message message;
  message.questions.push_back({{""}, 12, kClassIn});
  EXPECT_FALSE(encode(message));
  message.questions[0].name = {std::string(64, 'a')};
  EXPECT_FALSE(encode(message));
  Message mismatched;
  mismatched.answers.push_back({{"a"}, static_cast<std::uint16_t>(Type::A), kClassIn, 0, Txt{}});
  EXPECT_FALSE(encode(mismatched));
}

TEST(Dns, SameNameIgnoresAsciiCase) {
  EXPECT_TRUE(same_name({"_P2PANDAv1", "Local"}, {"_p2pandav1", "local"}));
  EXPECT_FALSE(same_name({"a"}, {"a", "b"}));
}

}  // namespace
}  // namespace p2panda::discovery::dns

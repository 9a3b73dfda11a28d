#include <p2panda/log_heights.hpp>

#include "core/cbor.hpp"
#include "test_util.hpp"

namespace p2panda {
namespace {

PublicKey author(std::uint8_t n) {
  std::array<std::uint8_t, 32> bytes{};
  bytes[0] = n;
  return PublicKey(bytes);
}
LogId log(std::uint8_t n) {
  std::array<std::uint8_t, 32> bytes{};
  bytes[31] = n;
  return LogId(bytes);
}

TEST(LogHeights, CompareFindsWhatTheRemoteLacks) {
  const LogHeights local = {{author(1), {{log(1), SeqNum(5)}, {log(2), SeqNum(3)}}},
                            {author(2), {{log(1), SeqNum(0)}}},
                            {author(3), {{log(1), SeqNum(9)}}}};
  const LogHeights remote = {{author(1), {{log(1), SeqNum(2)}, {log(2), SeqNum(7)}}},
                             {author(3), {{log(1), SeqNum(9)}}},
                             {author(4), {{log(1), SeqNum(1)}}}};
  const LogRanges ranges = compare(local, remote);
  const LogRanges expected = {{author(1), {{log(1), LogRange{SeqNum(2), SeqNum(5)}}}},
                              {author(2), {{log(1), LogRange{std::nullopt, SeqNum(0)}}}}};
  EXPECT_EQ(ranges, expected);
  EXPECT_EQ(range_count(ranges), 3u + 1u);
  EXPECT_TRUE(compare(local, local).empty());
}

TEST(Cursor, AdvancesMonotonicallyAndAcksEverythingBelow) {
  Cursor cursor("main");
  EXPECT_TRUE(cursor.advance(author(1), log(1), SeqNum(4)));
  EXPECT_FALSE(cursor.advance(author(1), log(1), SeqNum(2)));
  EXPECT_FALSE(cursor.advance(author(1), log(1), SeqNum(4)));
  EXPECT_TRUE(cursor.is_acked(author(1), log(1), SeqNum(0)));
  EXPECT_TRUE(cursor.is_acked(author(1), log(1), SeqNum(4)));
  EXPECT_FALSE(cursor.is_acked(author(1), log(1), SeqNum(5)));
  EXPECT_FALSE(cursor.is_acked(author(2), log(1), SeqNum(0)));

  const LogHeights local = {{author(1), {{log(1), SeqNum(6)}}}, {author(2), {{log(1), SeqNum(0)}}}};
  const LogRanges unacked = cursor.unacked(local);
  EXPECT_EQ(range_count(unacked), 2u + 1u);
}

TEST(Cursor, EncodingRoundTripsAndIsStrict) {
  Cursor cursor("replay");
  cursor.advance(author(2), log(1), SeqNum(70000));
  cursor.advance(author(1), log(2), SeqNum(1));
  cursor.advance(author(1), log(1), SeqNum(0));
  const Bytes encoded = cursor.encode();
  auto decoded = Cursor::decode(encoded);
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, cursor);
  EXPECT_EQ(decoded->encode(), encoded);

  // Keys out of order would give one cursor two encodings: refused.
  cbor::Writer unsorted;
  unsorted.array(2).text("x").map(2);
  unsorted.bytes(author(2).bytes()).map(0);
  unsorted.bytes(author(1).bytes()).map(0);
  EXPECT_ERRC(Cursor::decode(unsorted.data()), CborNonCanonical);

  cbor::Writer too_high;
  too_high.array(2).text("x").map(1).bytes(author(1).bytes()).map(1).bytes(log(1).bytes());
  too_high.uint(1ULL << 32);
  EXPECT_ERRC(Cursor::decode(too_high.data()), InvalidArgument);

  Bytes truncated = encoded;
  truncated.pop_back();
  EXPECT_ERRC(Cursor::decode(truncated), CborTruncated);
}

}  // namespace
}  // namespace p2panda

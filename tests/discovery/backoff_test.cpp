// The walkers' backoff: random growth within 1-5 s per step, the 30 s cap, and the reset after a
// random 60-180 s, with a fixed seed and a hand-driven clock.
#include "discovery/backoff.hpp"

#include <gtest/gtest.h>

#include <set>

namespace p2panda::discovery {
namespace {

constexpr Micros kSecond = 1'000'000;

TEST(Backoff, StartsAtZeroAndGrowsByOneToFiveSeconds) {
  Backoff backoff(1, 0);
  EXPECT_EQ(backoff.value(), 0u);
  Micros last = 0;
  std::set<Micros> increments;
  for (int i = 0; i < 5; ++i) {
    backoff.increment(0);
    const Micros step = backoff.value() - last;
    EXPECT_GE(step, 1 * kSecond);
    EXPECT_LT(step, 5 * kSecond);
    EXPECT_EQ(step % 1000, 0u);  // whole milliseconds
    increments.insert(step);
    last = backoff.value();
  }
  EXPECT_GT(increments.size(), 1u);  // random, not constant
}

TEST(Backoff, IsCappedAtThirtySeconds) {
  Backoff backoff(2, 0);
  for (int i = 0; i < 100; ++i) {
    backoff.increment(0);
    EXPECT_LE(backoff.value(), 30 * kSecond);
  }
  EXPECT_EQ(backoff.value(), 30 * kSecond);
}

TEST(Backoff, ResetsAfterItsRandomPeriod) {
  Backoff backoff(3, 0);
  const Micros period = backoff.reset_after();
  EXPECT_GE(period, 60 * kSecond);
  EXPECT_LT(period, 180 * kSecond);
  backoff.increment(period - 1);
  EXPECT_GT(backoff.value(), 0u);
  EXPECT_EQ(backoff.reset_after(), period);
  backoff.increment(period);  // the period has passed: back to zero with a new period
  EXPECT_EQ(backoff.value(), 0u);
  EXPECT_EQ(backoff.last_reset_at(), period);
  EXPECT_GE(backoff.reset_after(), 60 * kSecond);
  EXPECT_LT(backoff.reset_after(), 180 * kSecond);
}

TEST(Backoff, SameSeedSameSequence) {
  Backoff a(9, 0), b(9, 0);
  for (int i = 0; i < 10; ++i) {
    a.increment(i * kSecond);
    b.increment(i * kSecond);
    EXPECT_EQ(a.value(), b.value());
  }
}

}  // namespace
}  // namespace p2panda::discovery

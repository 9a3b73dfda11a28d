#include "node/dial_backoff.hpp"

#include <gtest/gtest.h>

namespace p2panda::node {
namespace {

using namespace std::chrono_literals;
using Clock = DialBackoff::Clock;

NodeId some_node() { return PrivateKey::generate().public_key(); }

TEST(DialBackoff, EachFailureInARowDoublesTheWaitUpToTheCap) {
  DialBackoff backoff(5s);
  const DialBackoff::Key key{some_node(), Topic::random()};
  Clock::time_point now{};
  std::vector<Clock::duration> waits;
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(backoff.may_dial(key, now));
    waits.push_back(backoff.failed(key, now));
    EXPECT_FALSE(backoff.may_dial(key, now + waits.back() - 1ms));
    EXPECT_EQ(backoff.next_due(now), now + waits.back());
    now += waits.back();
  }
  EXPECT_EQ(waits, (std::vector<Clock::duration>{5s, 10s, 20s, 40s, 40s, 40s}));
  EXPECT_EQ(backoff.failures(key), 6u);
}

TEST(DialBackoff, ThousandsOfFailuresStayAtTheCap) {
  DialBackoff backoff(1s);
  const DialBackoff::Key key{some_node(), Topic::random()};
  Clock::duration wait{};
  for (int i = 0; i < 5000; ++i) wait = backoff.failed(key, Clock::time_point{});
  EXPECT_EQ(wait, 8s);
}

TEST(DialBackoff, AStartedSessionClearsItsSlotOnly) {
  DialBackoff backoff(1s);
  const NodeId peer = some_node();
  const DialBackoff::Key first{peer, Topic::random()}, second{peer, Topic::random()};
  const Clock::time_point now{};
  backoff.failed(first, now);
  backoff.failed(first, now);
  backoff.failed(second, now);
  backoff.succeeded(first);
  EXPECT_TRUE(backoff.may_dial(first, now));
  EXPECT_EQ(backoff.failures(first), 0u);
  EXPECT_EQ(backoff.failed(first, now), 1s);  // counts from the start again
  EXPECT_FALSE(backoff.may_dial(second, now));
  EXPECT_EQ(backoff.failures(second), 1u);
}

TEST(DialBackoff, ANewAddressClearsEveryTopicOfThatPeer) {
  DialBackoff backoff(1s);
  const NodeId peer = some_node(), other = some_node();
  const Topic topic = Topic::random(), another = Topic::random();
  const Clock::time_point now{};
  backoff.failed({peer, topic}, now);
  backoff.failed({peer, another}, now);
  backoff.failed({other, topic}, now);
  backoff.clear_peer(peer);
  EXPECT_TRUE(backoff.may_dial({peer, topic}, now));
  EXPECT_TRUE(backoff.may_dial({peer, another}, now));
  EXPECT_FALSE(backoff.may_dial({other, topic}, now));
  EXPECT_EQ(backoff.next_due(now), now + 1s);
}

TEST(DialBackoff, NothingWaitsOnceEverySlotIsDue) {
  DialBackoff backoff(1s);
  const DialBackoff::Key key{some_node(), Topic::random()};
  EXPECT_EQ(backoff.next_due(Clock::time_point{}), std::nullopt);
  backoff.failed(key, Clock::time_point{});
  EXPECT_EQ(backoff.next_due(Clock::time_point{} + 1s), std::nullopt);
  EXPECT_TRUE(backoff.may_dial(key, Clock::time_point{} + 1s));
}

}  // namespace
}  // namespace p2panda::node

// The random walker with a fixed seed: bootstrap first, no revisits until the walk starts over,
// continuing from what sessions return, backoff growth and cap, resets, and the empty-book delay.
#include "discovery/walker.hpp"

#include <gtest/gtest.h>

#include <map>

namespace p2panda::discovery {
namespace {

constexpr Micros kSecond = 1'000'000;

NodeId node(std::uint8_t byte) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(byte);
  return NodeId(bytes);
}

WalkerConfig never_restart() {
  WalkerConfig config;
  config.reset_walk_probability = 0.0;
  return config;
}

NodeId step(RandomWalker& walker, const std::vector<KnownNode>& book, Micros now) {
  auto next = walker.next_step(book, now);
  EXPECT_TRUE(next) << next.error().to_string();
  EXPECT_TRUE(next && next->has_value());
  return next && *next ? **next : NodeId();
}

TEST(Walker, StartsAtABootstrapNodeAndNeverAtItself) {
  const std::vector<KnownNode> book{
      {node(0), true}, {node(1)}, {node(2), true}, {node(3)}, {node(4)}};
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    RandomWalker walker(node(0), seed, 0);
    const NodeId first = step(walker, book, 0);
    EXPECT_TRUE(first == node(2)) << "seed " << seed;  // node(0) is us, though marked bootstrap
  }
}

TEST(Walker, EmptyAddressBookWaitsTwoSeconds) {
  RandomWalker walker(node(0), 1, 100);
  const std::vector<KnownNode> only_me{{node(0), true}};
  auto next = walker.next_step(only_me, 100);
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(walker.next_deadline(), 100 + 2 * kSecond);
  EXPECT_FALSE(walker.next_step(only_me, 100 + 2 * kSecond - 1));  // too early
  EXPECT_EQ(step(walker, {{node(0)}, {node(5)}}, 100 + 2 * kSecond), node(5));
}

TEST(Walker, VisitsEveryNodeOnceBeforeStartingOver) {
  std::vector<KnownNode> book;
  for (std::uint8_t i = 0; i < 32; ++i) book.push_back({node(i)});
  RandomWalker walker(node(0), 42, 0, never_restart());
  std::set<NodeId> visited;
  Micros now = 0;
  for (int i = 0; i < 31; ++i) {
    const NodeId next = step(walker, book, now);
    EXPECT_NE(next, node(0));
    EXPECT_TRUE(visited.insert(next).second) << "revisited a node at step " << i;
    ASSERT_TRUE(walker.session_succeeded({}, 0, now));
    now = *walker.next_deadline();
  }
  // Everything visited: the walk starts over and may pick any node again.
  EXPECT_TRUE(visited.contains(step(walker, book, now)));
}

TEST(Walker, ExploresTheGraphThroughSessionResults) {
  // p2panda's explore_full_graph: we know only bootstrap 1; the rest is learned hop by hop.
  const std::map<NodeId, std::vector<NodeId>> graph{{node(1), {node(2), node(3)}},
                                                    {node(2), {node(4)}},
                                                    {node(3), {node(5)}},
                                                    {node(4), {}},
                                                    {node(5), {node(6), node(7), node(8)}},
                                                    {node(6), {}},
                                                    {node(7), {node(8)}},
                                                    {node(8), {}}};
  const std::vector<KnownNode> book{{node(0)}, {node(1), true}};
  RandomWalker walker(node(0), 3, 0, never_restart());
  std::set<NodeId> visited;
  Micros now = 0;
  for (int i = 0; i < 8; ++i) {
    const NodeId next = step(walker, book, now);
    visited.insert(next);
    const auto& learned = graph.at(next);
    ASSERT_TRUE(walker.session_succeeded(learned, learned.size(), now));
    now = *walker.next_deadline();
  }
  EXPECT_EQ(visited.size(), 8u);
}

TEST(Walker, BacksOffWhenSessionsBringNothingNew) {
  const std::vector<KnownNode> book{{node(1), true}, {node(2)}, {node(3)}};
  RandomWalker walker(node(0), 5, 0);
  Micros now = 0;
  Micros last = 0;
  for (int i = 0; i < 40; ++i) {
    step(walker, book, now);
    ASSERT_TRUE(walker.session_succeeded(std::vector<NodeId>{node(2), node(3)}, 0, now));
    const Micros backoff = walker.backoff().value();
    if (backoff != 0) {  // zero again only when the reset period has passed
      EXPECT_LE(backoff, 30 * kSecond);
      if (backoff < 30 * kSecond) {
        EXPECT_GE(backoff, last + kSecond);
      }
    }
    EXPECT_EQ(walker.next_deadline(), now + backoff);
    last = backoff;
    now = *walker.next_deadline();
    if (now >= 60 * kSecond) break;
  }
  EXPECT_EQ(walker.last_success_rate(), 0.0);
}

TEST(Walker, BackoffReachesTheCap) {
  const std::vector<KnownNode> book{{node(1), true}, {node(2)}};
  WalkerConfig config;
  config.backoff.min_reset = config.backoff.max_reset = 3600 * kSecond;
  RandomWalker walker(node(0), 11, 0, config);
  Micros now = 0;
  for (int i = 0; i < 40; ++i) {
    step(walker, book, now);
    ASSERT_TRUE(walker.session_failed(now));
    EXPECT_LE(walker.backoff().value(), 30 * kSecond);
    now = *walker.next_deadline();
  }
  EXPECT_EQ(walker.backoff().value(), 30 * kSecond);
}

TEST(Walker, BackoffResetsAfterItsRandomPeriod) {
  const std::vector<KnownNode> book{{node(1), true}, {node(2)}};
  RandomWalker walker(node(0), 11, 0);
  const Micros period = walker.backoff().reset_after();
  Micros now = 0;
  while (true) {
    step(walker, book, now);
    ASSERT_TRUE(walker.session_failed(now));
    if (now >= period) break;
    EXPECT_GT(walker.backoff().value(), 0u);
    now = *walker.next_deadline();
  }
  // The first unproductive step past the period resets the backoff and draws a new period.
  EXPECT_EQ(walker.backoff().value(), 0u);
  EXPECT_EQ(walker.backoff().last_reset_at(), now);
  EXPECT_EQ(walker.next_deadline(), now);
}

TEST(Walker, ProductiveSessionsResetTheBackoff) {
  const std::vector<KnownNode> book{{node(1), true}, {node(2)}, {node(3)}};
  RandomWalker walker(node(0), 5, 0);
  step(walker, book, 0);
  ASSERT_TRUE(walker.session_failed(0));
  EXPECT_GT(walker.backoff().value(), 0u);
  const Micros now = *walker.next_deadline();
  step(walker, book, now);
  ASSERT_TRUE(walker.session_succeeded(std::vector<NodeId>{node(4), node(5)}, 1, now));
  EXPECT_EQ(walker.last_success_rate(), 0.5);
  EXPECT_EQ(walker.backoff().value(), 0u);
  EXPECT_EQ(walker.next_deadline(), now);
}

TEST(Walker, ResetStartsANewWalkFromABootstrapNodeNow) {
  const std::vector<KnownNode> book{{node(1), true}, {node(2)}, {node(3)}, {node(4)}};
  RandomWalker walker(node(0), 8, 0, never_restart());
  EXPECT_EQ(step(walker, book, 0), node(1));
  ASSERT_TRUE(walker.session_failed(0));
  ASSERT_GT(*walker.next_deadline(), 0u);
  walker.reset(10);
  EXPECT_EQ(walker.next_deadline(), 10u);
  EXPECT_EQ(walker.backoff().value(), 0u);
  EXPECT_EQ(step(walker, book, 10), node(1));  // bootstrap again, though visited before
}

TEST(Walker, ResetDuringASessionTakesEffectWhenItEnds) {
  const std::vector<KnownNode> book{{node(1), true}, {node(2)}};
  RandomWalker walker(node(0), 8, 0, never_restart());
  step(walker, book, 0);
  walker.reset(5);
  EXPECT_FALSE(walker.next_deadline().has_value());
  EXPECT_FALSE(walker.next_step(book, 5));  // session in flight
  ASSERT_TRUE(walker.session_failed(7));
  EXPECT_EQ(walker.next_deadline(), 7u);
  EXPECT_EQ(walker.backoff().value(), 0u);
  EXPECT_EQ(step(walker, book, 7), node(1));
}

TEST(Walker, RestartsWithTheConfiguredProbability) {
  std::vector<KnownNode> book{{node(1), true}};
  for (std::uint8_t i = 2; i < 200; ++i) book.push_back({node(i)});
  RandomWalker walker(node(0), 13, 0);
  int bootstrap_visits = 0;
  Micros now = 0;
  for (int i = 0; i < 150; ++i) {
    if (step(walker, book, now) == node(1)) ++bootstrap_visits;
    ASSERT_TRUE(walker.session_succeeded(std::vector<NodeId>{node(1)}, 1, now));
    now = *walker.next_deadline();
  }
  // The first step plus about 2% of the rest.
  EXPECT_GE(bootstrap_visits, 2);
  EXPECT_LE(bootstrap_visits, 12);
}

TEST(Walker, SameSeedSameWalk) {
  std::vector<KnownNode> book;
  for (std::uint8_t i = 1; i < 50; ++i) book.push_back({node(i), i % 7 == 0});
  RandomWalker a(node(0), 99, 0), b(node(0), 99, 0);
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(step(a, book, i * kSecond), step(b, book, i * kSecond));
    ASSERT_TRUE(a.session_succeeded({}, 0, i * kSecond));
    ASSERT_TRUE(b.session_succeeded({}, 0, i * kSecond));
    // Outcome timing is the driver's; keep both deadlines reachable.
    a.reset((i + 1) * kSecond);
    b.reset((i + 1) * kSecond);
  }
}

TEST(Walker, OutcomeWithoutASessionIsRefused) {
  RandomWalker walker(node(0), 1, 0);
  EXPECT_FALSE(walker.session_failed(0));
  EXPECT_FALSE(walker.session_succeeded({}, 0, 0));
  EXPECT_EQ(kDefaultWalkerCount, 2u);
}

}  // namespace
}  // namespace p2panda::discovery

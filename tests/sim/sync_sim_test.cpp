// Log sync between SimNodes: catch-up, live mode, pruning, figures, faults.
#include "sim/sim_node.hpp"

#include "../core/test_util.hpp"
#include "sim_seed.hpp"

namespace p2panda::sim {
namespace {

// Every node wants every other node that follows the topic.
struct World {
  explicit World(std::uint64_t seed, LinkConfig link = {}) : network(seed, link) {}

  SimNode& add(SimNodeConfig config = {}) {
    nodes.push_back(std::make_unique<SimNode>(
        network,
        [this](NodeIndex self, const Topic& topic) {
          std::vector<NodeIndex> peers;
          for (const auto& node : nodes) {
            if (node->index() != self && node->topics().count(topic)) peers.push_back(node->index());
          }
          return peers;
        },
        config));
    return *nodes.back();
  }

  LogHeights heights(SimNode& node, const Topic& topic) {
    auto heights = node.store().query([&](store::StoreReader& r) { return r.topic_heights(topic); });
    return heights ? *heights : LogHeights{};
  }

  bool converged(const Topic& topic) {
    std::optional<LogHeights> first;
    for (auto& node : nodes) {
      if (!node->topics().count(topic)) continue;
      LogHeights mine = heights(*node, topic);
      if (!first) first = mine;
      if (mine != *first) return false;
    }
    return true;
  }

  SimNetwork network;
  std::vector<std::unique_ptr<SimNode>> nodes;
};

TEST(SyncSim, OfflinePeerCatchesUpThenStaysLive) {
  World world(test::base_seed());
  const Topic topic = Topic::random();
  SimNode& alice = world.add();
  alice.follow(topic);
  for (int i = 0; i < 20; ++i) ASSERT_OK(alice.publish(topic, Bytes(100, static_cast<std::uint8_t>(i))));

  SimNode& bob = world.add();
  world.nodes[0]->connect_all();
  bob.follow(topic);
  world.nodes[0]->connect_all();
  ASSERT_TRUE(world.network.run_until([&] { return world.converged(topic) && bob.live_sessions() == 1; },
                                      60'000'000));
  EXPECT_EQ(bob.stats().ingested, 20u);
  // SyncStarted on bob announced 20 incoming operations, and topic_sessions counts this one.
  ASSERT_FALSE(bob.stats().started.empty());
  EXPECT_EQ(bob.stats().started[0].incoming_operations, 20u);
  EXPECT_EQ(bob.stats().started[0].topic_sessions, 1u);

  // Live: a new publish reaches bob without a new session.
  ASSERT_OK(alice.publish(topic, Bytes{42}));
  ASSERT_TRUE(world.network.run_until([&] { return world.converged(topic); }, world.network.now() + 10'000'000));
  EXPECT_EQ(bob.stats().sessions_started, 1u);
  EXPECT_EQ(bob.stats().ingested, 21u);
}

TEST(SyncSim, SymmetricSyncSendsOnlyWhatIsMissing) {
  World world(test::base_seed());
  const Topic topic = Topic::random();
  SimNode& alice = world.add();
  SimNode& bob = world.add();
  alice.follow(topic);
  for (int i = 0; i < 5; ++i) ASSERT_OK(alice.publish(topic, Bytes{1}));
  // Bob follows later, with his own operations.
  world.network.run_for(1'000'000);
  EXPECT_ERRC(bob.publish(topic, Bytes{2}), InvalidArgument);  // bob does not follow it yet
  bob.follow(topic);
  for (int i = 0; i < 3; ++i) ASSERT_OK(bob.publish(topic, Bytes{2}));
  alice.connect_all();
  ASSERT_TRUE(world.network.run_until([&] { return world.converged(topic) && alice.live_sessions() == 1; },
                                      60'000'000));
  EXPECT_EQ(alice.stats().ingested, 3u);
  EXPECT_EQ(bob.stats().ingested, 5u);
  EXPECT_EQ(alice.stats().rejected + bob.stats().rejected, 0u);
}

TEST(SyncSim, PrunedLogsSyncFromThePrunePoint) {
  World world(test::base_seed());
  const Topic topic = Topic::random();
  SimNode& alice = world.add();
  alice.follow(topic);
  for (int i = 0; i < 3; ++i) ASSERT_OK(alice.publish(topic, Bytes{1}));
  ASSERT_OK(alice.publish(topic, Bytes{9}, /*prune=*/true));
  SimNode& bob = world.add();
  bob.follow(topic);
  alice.connect_all();
  ASSERT_TRUE(world.network.run_until([&] { return world.converged(topic); }, 60'000'000));
  auto entries = bob.store().query([&](store::StoreReader& r) {
    return r.log_entries(alice.id(), LogId::from_topic(topic), std::nullopt, std::nullopt);
  });
  ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), 1u);  // exactly one entry left on both nodes
  EXPECT_EQ((*entries)[0].seq_num(), SeqNum(3));
}

TEST(SyncSim, PeersOfOtherTopicsAreRefusedAndLearnNothing) {
  World world(test::base_seed());
  const Topic shared = Topic::random(), secret = Topic::random();
  SimNode& alice = world.add();
  SimNode& bob = world.add();
  alice.follow(shared);
  alice.follow(secret);
  bob.follow(shared);
  ASSERT_OK(alice.publish(secret, Bytes{7}));
  ASSERT_OK(alice.publish(shared, Bytes{8}));
  // Alice tries the secret topic with bob as well (a misbehaving oracle): bob refuses.
  alice.connect_all();
  world.network.run_for(5'000'000);
  EXPECT_TRUE(world.converged(shared));
  EXPECT_TRUE(world.heights(bob, secret).empty());
  auto resolved = bob.store().query([&](store::StoreReader& r) { return r.resolve_topic(secret); });
  EXPECT_TRUE(resolved->empty());
}

TEST(SyncSim, SilentPeerTimesOut) {
  World world(test::base_seed());
  const Topic topic = Topic::random();
  SimNodeConfig quick;
  quick.session.sync_timeout = 2'000'000;
  SimNode& alice = world.add(quick);
  alice.follow(topic);
  // A raw peer that completes the handshake, then says nothing at all.
  const NodeIndex mute = world.network.add_node(NodeHandler{});
  auto connection = world.network.connect(mute, alice.index());
  ASSERT_OK(connection);
  Bytes hello{0, 0x20};
  hello.insert(hello.end(), topic.bytes().begin(), topic.bytes().end());
  world.network.send(*connection, mute, hello);
  world.network.send(*connection, mute, Bytes{1});  // Done
  world.network.run_for(10'000'000);
  ASSERT_EQ(alice.stats().ended.size(), 1u);
  ASSERT_TRUE(alice.stats().ended[0].error.has_value());
  EXPECT_EQ(alice.stats().ended[0].error->code(), Errc::SyncTimeout);

  // One that never finishes the handshake is dropped too.
  auto stalled = world.network.connect(mute, alice.index());
  world.network.send(*stalled, mute, hello);
  world.network.run_for(10'000'000);
  EXPECT_EQ(alice.stats().handshakes_failed, 1u);
}

TEST(SyncSim, OversizedMessageEndsTheSession) {
  World world(test::base_seed());
  const Topic topic = Topic::random();
  SimNodeConfig small;
  small.session.max_message = 1024;
  SimNode& alice = world.add(small);
  alice.follow(topic);
  NodeIndex rogue = world.network.add_node(NodeHandler{});
  auto connection = world.network.connect(rogue, alice.index());
  std::vector<std::uint8_t> hello{0, 0x20};
  hello.insert(hello.end(), topic.bytes().begin(), topic.bytes().end());
  world.network.send(*connection, rogue, hello);
  world.network.send(*connection, rogue, Bytes{1});
  world.network.send(*connection, rogue, Bytes(5000, 0));
  world.network.run_for(1'000'000);
  ASSERT_FALSE(alice.stats().ended.empty());
  EXPECT_EQ(alice.stats().ended.back().error->code(), Errc::FrameTooLarge);
}

TEST(SyncSim, TopicTotalsCountEachSessionOnce) {
  World world(test::base_seed());
  const Topic topic = Topic::random();
  SimNode& alice = world.add();
  SimNode& bob = world.add();
  alice.follow(topic);
  for (int i = 0; i < 4; ++i) ASSERT_OK(alice.publish(topic, Bytes(50, 1)));
  bob.follow(topic);
  alice.connect_all();
  ASSERT_TRUE(world.network.run_until([&] { return world.converged(topic) && bob.live_sessions(); },
                                      60'000'000));
  world.network.partition({{alice.index()}, {bob.index()}}, 100'000);
  world.network.run_for(1'000'000);
  ASSERT_EQ(bob.stats().ended.size(), 1u);
  const auto& ended = bob.stats().ended[0];
  EXPECT_EQ(ended.metrics.received_operations, 4u);
  EXPECT_EQ(ended.received_bytes_topic_total, ended.metrics.received_bytes);
  EXPECT_GT(ended.metrics.received_bytes, 4u * 50u);
}

}  // namespace
}  // namespace p2panda::sim

#include "sim/sim_network.hpp"

#include "../core/test_util.hpp"
#include "sim_seed.hpp"

namespace p2panda::sim {
namespace {

struct Recorder {
  std::vector<std::pair<Micros, Bytes>> messages;
  std::vector<ConnectionId> accepted;
  std::vector<Result<void>> closed;
  NodeHandler handler(SimNetwork& network) {
    return NodeHandler{
        [this](ConnectionId c, NodeIndex) { accepted.push_back(c); },
        [this, &network](ConnectionId, Bytes m) { messages.emplace_back(network.now(), std::move(m)); },
        [this](ConnectionId, Result<void> reason) { closed.push_back(std::move(reason)); }};
  }
};

TEST(SimNetwork, DeliversInOrderDespiteJitterAndLoss) {
  const std::uint64_t seed = test::base_seed();
  test::SeedReporter reporter{seed};
  SimNetwork network(seed, LinkConfig{.delay = 10'000, .jitter = 8'000, .loss = 0.2});
  Recorder a, b;
  const NodeIndex na = network.add_node(a.handler(network));
  const NodeIndex nb = network.add_node(b.handler(network));
  auto connection = network.connect(na, nb);
  ASSERT_OK(connection);
  for (std::uint8_t i = 0; i < 100; ++i) network.send(*connection, na, Bytes{i});
  network.run_for(10'000'000);
  ASSERT_EQ(b.accepted.size(), 1u);
  ASSERT_EQ(b.messages.size(), 100u);
  for (std::uint8_t i = 0; i < 100; ++i) EXPECT_EQ(b.messages[i].second, Bytes{i});
  EXPECT_GE(b.messages.front().first, 10'000u);
  EXPECT_GT(network.stats().retransmissions, 0u);
}

TEST(SimNetwork, BandwidthSerialisesMessages) {
  SimNetwork network(1, LinkConfig{.delay = 1'000, .bytes_per_second = 1'000'000});
  Recorder a, b;
  const NodeIndex na = network.add_node(a.handler(network));
  const NodeIndex nb = network.add_node(b.handler(network));
  auto connection = network.connect(na, nb);
  network.send(*connection, na, Bytes(99'996));  // 100,000 bytes on the wire: 100 ms
  network.send(*connection, na, Bytes(99'996));
  network.run_for(1'000'000);
  ASSERT_EQ(b.messages.size(), 2u);
  EXPECT_GE(b.messages[1].first, 200'000u);
}

TEST(SimNetwork, PartitionsBreakConnectionsAndHealRestoresReachability) {
  SimNetwork network(7);
  Recorder a, b;
  const NodeIndex na = network.add_node(a.handler(network));
  const NodeIndex nb = network.add_node(b.handler(network));
  auto connection = network.connect(na, nb);
  network.run_for(100'000);
  network.partition({{na}, {nb}}, 500'000);
  network.send(*connection, na, Bytes{1});
  EXPECT_ERRC(network.connect(na, nb), Io);
  network.run_for(1'000'000);
  EXPECT_TRUE(b.messages.empty());
  ASSERT_EQ(a.closed.size(), 1u);
  ASSERT_EQ(b.closed.size(), 1u);
  EXPECT_FALSE(a.closed[0].has_value());
  network.heal();
  ASSERT_OK(network.connect(na, nb));
}

TEST(SimNetwork, GracefulCloseArrivesAfterInFlightData) {
  SimNetwork network(3, LinkConfig{.delay = 5'000, .jitter = 4'000});
  Recorder a, b;
  const NodeIndex na = network.add_node(a.handler(network));
  const NodeIndex nb = network.add_node(b.handler(network));
  auto connection = network.connect(na, nb);
  for (std::uint8_t i = 0; i < 10; ++i) network.send(*connection, na, Bytes{i});
  network.close(*connection, na);
  network.run_for(1'000'000);
  EXPECT_EQ(b.messages.size(), 10u);
  ASSERT_EQ(b.closed.size(), 1u);
  EXPECT_TRUE(b.closed[0].has_value());
}

TEST(SimNetwork, SameSeedSameRun) {
  auto run = [](std::uint64_t seed) {
    SimNetwork network(seed, LinkConfig{.delay = 3'000, .jitter = 3'000, .loss = 0.1});
    Recorder a, b;
    const NodeIndex na = network.add_node(a.handler(network));
    const NodeIndex nb = network.add_node(b.handler(network));
    auto connection = network.connect(na, nb);
    for (std::uint8_t i = 0; i < 50; ++i) network.send(*connection, na, Bytes{i});
    network.run_for(5'000'000);
    std::vector<Micros> times;
    for (const auto& [at, message] : b.messages) times.push_back(at);
    return times;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

}  // namespace
}  // namespace p2panda::sim

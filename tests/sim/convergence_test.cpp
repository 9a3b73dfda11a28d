// Convergence: 3 to 20 nodes, several topics each followed by a random subset, random publishes
// (some pruning) under random partitions and heals, links with delay, jitter and loss. After the
// last heal every node that follows a topic holds the same operations for it, and no node holds
// anything of a topic it does not follow. 100 seeds by default (P2PANDA_SIM_SEEDS for more);
// P2PANDA_SEED replays one.
#include <cstdlib>

#include "sim/sim_node.hpp"

#include "../core/test_util.hpp"
#include "sim_seed.hpp"

namespace p2panda::sim {
namespace {

struct Scenario {
  std::uint64_t seed;
  SimNetwork network;
  std::vector<std::unique_ptr<SimNode>> nodes;
  std::vector<Topic> topics;
  std::vector<std::set<std::size_t>> followers;  // per topic: node indices

  explicit Scenario(std::uint64_t s)
      : seed(s), network(s, LinkConfig{.delay = 2'000 + s % 20'000, .jitter = 5'000, .loss = 0.02}) {}

  std::vector<NodeIndex> peers(NodeIndex self, const Topic& topic) {
    std::vector<NodeIndex> result;
    for (std::size_t t = 0; t < topics.size(); ++t) {
      if (topics[t] != topic) continue;
      for (std::size_t n : followers[t]) {
        if (nodes[n]->index() != self) result.push_back(nodes[n]->index());
      }
    }
    return result;
  }

  void build() {
    std::mt19937_64& rng = network.rng();
    const std::size_t count = 3 + rng() % 18;
    const std::size_t topic_count = 1 + rng() % 3;
    for (std::size_t t = 0; t < topic_count; ++t) {
      std::array<std::uint8_t, 32> bytes{};
      for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
      topics.emplace_back(bytes);
      followers.emplace_back();
    }
    for (std::size_t n = 0; n < count; ++n) {
      nodes.push_back(std::make_unique<SimNode>(
          network, [this](NodeIndex self, const Topic& topic) { return peers(self, topic); }));
    }
    for (std::size_t t = 0; t < topic_count; ++t) {
      for (std::size_t n = 0; n < count; ++n) {
        if (rng() % 3 != 0) followers[t].insert(n);
      }
      if (followers[t].size() < 2) followers[t].insert({0, 1});
    }
    for (std::size_t t = 0; t < topic_count; ++t) {
      for (std::size_t n : followers[t]) nodes[n]->follow(topics[t]);
    }
  }

  void schedule_traffic() {
    std::mt19937_64& rng = network.rng();
    const int publishes = 10 + static_cast<int>(rng() % 30);
    for (int i = 0; i < publishes; ++i) {
      const Micros at = rng() % 20'000'000;
      const std::size_t t = rng() % topics.size();
      std::vector<std::size_t> members(followers[t].begin(), followers[t].end());
      const std::size_t n = members[rng() % members.size()];
      const bool prune = rng() % 10 == 0;
      network.schedule(at, [this, n, t, prune, i] {
        auto published = nodes[n]->publish(topics[t], Bytes(8, static_cast<std::uint8_t>(i)), prune);
        EXPECT_TRUE(published.has_value()) << published.error().to_string();
      });
    }
    // A few partitions into two random halves, each healed later.
    const int partitions = static_cast<int>(rng() % 3);
    for (int p = 0; p < partitions; ++p) {
      const Micros at = rng() % 15'000'000;
      std::vector<NodeIndex> side;
      for (const auto& node : nodes) {
        if (rng() % 2) side.push_back(node->index());
      }
      network.schedule(at, [this, side] { network.partition({side}, 500'000); });
      network.schedule(at + 1'000'000 + rng() % 4'000'000, [this] { network.heal(); });
    }
    network.schedule(21'000'000, [this] { network.heal(); });
  }

  LogHeights heights(std::size_t n, const Topic& topic) {
    auto heights = nodes[n]->store().query([&](store::StoreReader& r) { return r.topic_heights(topic); });
    return heights ? *heights : LogHeights{};
  }

  std::vector<Hash> ids(std::size_t n, const Topic& topic) {
    std::vector<Hash> out;
    auto logs = nodes[n]->store().query([&](store::StoreReader& r) { return r.resolve_topic(topic); });
    for (const auto& [author, log_ids] : *logs) {
      for (const LogId& log : log_ids) {
        auto entries = nodes[n]->store().query([&](store::StoreReader& r) {
          return r.log_entries(author, log, std::nullopt, std::nullopt);
        });
        for (const auto& entry : *entries) out.push_back(entry.id());
      }
    }
    return out;
  }

  bool converged() {
    for (std::size_t t = 0; t < topics.size(); ++t) {
      const std::size_t first = *followers[t].begin();
      const LogHeights expected = heights(first, topics[t]);
      for (std::size_t n : followers[t]) {
        if (heights(n, topics[t]) != expected) return false;
      }
    }
    return true;
  }
};

TEST(Convergence, RandomNetworksConvergeAfterPartitionsHeal) {
  const char* seeds_text = std::getenv("P2PANDA_SIM_SEEDS");
  const int seeds = std::getenv("P2PANDA_SEED") ? 1 : (seeds_text ? std::atoi(seeds_text) : 100);
  for (int i = 0; i < seeds; ++i) {
    const std::uint64_t seed = test::base_seed() + static_cast<std::uint64_t>(i);
    test::SeedReporter reporter{seed};
    SCOPED_TRACE("seed " + std::to_string(seed));
    Scenario scenario(seed);
    scenario.build();
    scenario.schedule_traffic();
    scenario.network.run_for(22'000'000);
    // After the final heal, failed sessions retry within 5 s; give it simulated minutes.
    const bool done = scenario.network.run_until([&] { return scenario.converged(); },
                                                 scenario.network.now() + 120'000'000);
    ASSERT_TRUE(done) << "did not converge";
    for (std::size_t t = 0; t < scenario.topics.size(); ++t) {
      const std::size_t first = *scenario.followers[t].begin();
      auto expected = scenario.ids(first, scenario.topics[t]);
      std::sort(expected.begin(), expected.end());
      for (std::size_t n = 0; n < scenario.nodes.size(); ++n) {
        auto mine = scenario.ids(n, scenario.topics[t]);
        std::sort(mine.begin(), mine.end());
        if (scenario.followers[t].count(n)) {
          EXPECT_EQ(mine, expected) << "node " << n << " topic " << t;
        } else {
          EXPECT_TRUE(mine.empty()) << "node " << n << " holds a topic it does not follow";
        }
      }
    }
    for (const auto& node : scenario.nodes) {
      EXPECT_EQ(node->stats().rejected, 0u);
      for (const auto& reason : node->stats().rejections) ADD_FAILURE() << reason.to_string();
    }
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace p2panda::sim

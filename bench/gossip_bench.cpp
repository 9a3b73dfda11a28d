// Gossip delivery latency of the sans-IO cores on the discrete-event simulator (issue 7):
//   gossip_core_p50_ms_sim20, gossip_core_p99_ms_sim20  20 nodes joined through 3 bootstrap peers, links of
//   10-50 ms one way; 100 broadcasts from random nodes, 200 ms apart, after the overlay settled;
//   latency = first delivery at each other node minus the send time (simulated, so exact).
// gossip_driver_bench measures the node's driver over SimTransport (gossip_p50_ms_sim20, ...).
// Uses the gossip simulation harness of tests/gossip. Usage: gossip_bench [--results FILE]
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>

#include "figures.hpp"
#include "sim_harness.hpp"

namespace p2panda::bench {
namespace {

using gossip::testing::GossipSwarm;
constexpr sim::Micros kMs = 1'000;

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5)];
}

}  // namespace
}  // namespace p2panda::bench

int main(int argc, char** argv) {
  using namespace p2panda;
  using namespace p2panda::bench;
  std::string results;
  if (!parse_results_flag(argc, argv, "gossip_bench [--results FILE]", results)) return 2;
  GossipSwarm swarm(9, sim::LinkConfig{.delay = 20 * kMs});
  for (std::size_t i = 0; i < 20; ++i) swarm.add_node(10 * kMs, 50 * kMs);
  swarm.join(0, {});
  for (std::size_t i = 1; i < 20; ++i) {
    const std::size_t bootstrap = i <= 2 ? 0 : i % 3;
    swarm.network().schedule(i * 50 * kMs, [&swarm, i, bootstrap] { swarm.join(i, {bootstrap}); });
  }
  swarm.network().run_for(15'000'000);
  std::mt19937_64 rng(99);
  std::vector<gossip::MessageId> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string text = "latency " + std::to_string(i);
    auto id = swarm.broadcast(rng() % swarm.size(), Bytes(text.begin(), text.end()));
    if (id) ids.push_back(*id);
    swarm.network().run_for(200 * kMs);
  }
  swarm.network().run_for(2'000'000);
  std::vector<double> latencies;
  for (const auto& delivery : swarm.deliveries()) {
    if (std::find(ids.begin(), ids.end(), delivery.id) == ids.end()) continue;
    latencies.push_back(static_cast<double>(delivery.at - swarm.broadcast_time(delivery.id)) / 1000.0);
  }
  const std::size_t expected = ids.size() * (swarm.size() - 1);
  std::printf("20 nodes, 100 broadcasts: %zu of %zu deliveries\n", latencies.size(), expected);
  if (latencies.empty()) return 1;
  Figures figures{{"gossip_core_p50_ms_sim20", percentile(latencies, 0.5)},
                  {"gossip_core_p99_ms_sim20", percentile(latencies, 0.99)},
                  {"gossip_core_delivery_ratio_sim20",
                   static_cast<double>(latencies.size()) / static_cast<double>(expected)}};
  print_summary(figures);
  if (!results.empty() && !merge_results(results, figures)) return 1;
  return 0;
}

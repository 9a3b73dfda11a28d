// Gossip delivery latency through the node's real gossip driver (src/node/gossip_driver.hpp)
// over SimTransport (issue 7):
//   gossip_p50_ms_sim20, gossip_p99_ms_sim20  20 drivers, each pair of nodes linked with a one-way
//   delay drawn once from 10-50 ms; node i > 0 joins through node 0, 1 or 2; after the overlay
//   settled, 100 broadcasts from random nodes, 100 ms apart; latency = first delivery at each
//   other node minus the send time, on the real clock (so it includes the driver's own work:
//   all 20 drivers share one thread, as they would share a small machine).
//   gossip_delivery_ratio_sim20               deliveries seen / deliveries expected.
// gossip_bench measures the sans-IO cores alone on the discrete-event simulator (gossip_core_*).
// Usage: gossip_driver_bench [--results FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "figures.hpp"
#include "net/sim_hub.hpp"
#include "net/sim_transport.hpp"
#include "node/gossip_driver.hpp"

namespace p2panda::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5)];
}

net::SimHubConfig hub_config() {
  net::SimHubConfig config;
  config.seed = 9;
  return config;
}

struct Swarm {
  asio::io_context io{1};
  std::shared_ptr<net::SimHub> hub = net::SimHub::create(hub_config());
  std::vector<PrivateKey> keys;
  std::vector<std::shared_ptr<net::Transport>> transports;
  std::vector<std::unique_ptr<node::GossipDriver>> drivers;
  std::map<std::string, Clock::time_point> sent;
  std::vector<double> latencies;
};

net::LinkConfig link(std::chrono::milliseconds delay) {
  net::LinkConfig config;
  config.delay = delay;
  return config;
}

void run_for(Swarm& swarm, std::chrono::milliseconds duration) {
  swarm.io.restart();
  swarm.io.run_for(duration);
}

}  // namespace
}  // namespace p2panda::bench

int main(int argc, char** argv) {
  using namespace p2panda;
  using namespace p2panda::bench;
  std::string results;
  if (!parse_results_flag(argc, argv, "gossip_driver_bench [--results FILE]", results)) return 2;
  constexpr std::size_t kNodes = 20;
  constexpr int kBroadcasts = 100;
  Swarm swarm;
  const Topic topic = Topic::random();
  const Bytes alpn = protocol_alpn("/iroh-gossip/1", NetworkId::default_id());
  std::mt19937_64 rng(99);
  for (std::size_t i = 0; i < kNodes; ++i) {
    swarm.keys.push_back(PrivateKey::generate());
    swarm.transports.push_back(swarm.hub->add(swarm.keys.back(), swarm.io.get_executor()));
  }
  std::uniform_int_distribution<int> delay_ms(10, 50);
  for (std::size_t i = 0; i < kNodes; ++i) {
    for (std::size_t j = i + 1; j < kNodes; ++j) {
      swarm.hub->set_link(swarm.keys[i].public_key(), swarm.keys[j].public_key(),
                          link(std::chrono::milliseconds(delay_ms(rng))));
    }
  }
  for (std::size_t i = 0; i < kNodes; ++i) {
    node::GossipCallbacks callbacks;
    callbacks.received = [&swarm](const Topic&, const Bytes& content, const NodeId&) {
      auto found = swarm.sent.find(std::string(content.begin(), content.end()));
      if (found == swarm.sent.end()) return;
      swarm.latencies.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - found->second).count());
    };
    swarm.drivers.push_back(std::make_unique<node::GossipDriver>(
        *swarm.transports[i], alpn, gossip::TopicConfig{}, 100 + i, std::move(callbacks)));
  }
  asio::post(swarm.io, [&swarm, topic] {
    for (auto& driver : swarm.drivers) driver->start();
    swarm.drivers[0]->join(topic, {});
  });
  run_for(swarm, 10ms);
  for (std::size_t i = 1; i < kNodes; ++i) {
    const std::size_t bootstrap = i <= 2 ? 0 : i % 3;
    asio::post(swarm.io, [&swarm, topic, i, bootstrap] {
      swarm.drivers[i]->join(topic, {swarm.keys[bootstrap].public_key()});
    });
    run_for(swarm, 50ms);
  }
  run_for(swarm, 3s);  // the overlay settles: forward joins, refills, first tree pruning
  for (int n = 0; n < kBroadcasts; ++n) {
    const std::string text = "latency " + std::to_string(n);
    const std::size_t from = rng() % kNodes;
    asio::post(swarm.io, [&swarm, topic, text, from] {
      swarm.sent[text] = Clock::now();
      (void)swarm.drivers[from]->broadcast(topic, Bytes(text.begin(), text.end()));
    });
    run_for(swarm, 100ms);
  }
  run_for(swarm, 2s);
  asio::post(swarm.io, [&swarm] {
    for (auto& driver : swarm.drivers) driver->shutdown();
  });
  run_for(swarm, 100ms);
  const std::size_t expected = kBroadcasts * (kNodes - 1);
  std::printf("20 drivers over SimTransport, %d broadcasts: %zu of %zu deliveries\n", kBroadcasts,
              swarm.latencies.size(), expected);
  if (swarm.latencies.empty()) return 1;
  Figures figures{{"gossip_p50_ms_sim20", percentile(swarm.latencies, 0.5)},
                  {"gossip_p99_ms_sim20", percentile(swarm.latencies, 0.99)},
                  {"gossip_delivery_ratio_sim20",
                   static_cast<double>(swarm.latencies.size()) / static_cast<double>(expected)}};
  print_summary(figures);
  swarm.io.stop();
  swarm.drivers.clear();
  swarm.transports.clear();
  if (!results.empty() && !merge_results(results, figures)) return 1;
  return 0;
}

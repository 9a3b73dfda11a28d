// mDNS discovery figures, with whole nodes over QUIC on 127.0.0.1 and mDNS on `lo` (a port of
// the program's own, never the host's LAN):
// - mdns_first_peer_p50_ms / _p90_ms: from spawn() returning to the first peer found over mDNS,
//   with one node already running (median and 90th percentile of 21 fresh nodes);
// - discovery_idle_bytes_per_min: mDNS bytes one idle node sends per minute among 8 nodes, and
//   discovery_idle_lan_bytes_per_min_n2 / _n8: all nodes together, with 2 and 8 nodes. Measured
//   over a 15 s window after everyone found everyone and scaled to a minute.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <p2panda/node.hpp>
#include <thread>

#include "figures.hpp"

namespace {

using namespace std::chrono_literals;
using p2panda::Node;
using Clock = std::chrono::steady_clock;

std::uint16_t bench_port() { return static_cast<std::uint16_t>(20000 + ::getpid() % 30000); }

Node spawn_node() {
  auto node = p2panda::builder()
                  .mdns_mode(p2panda::MdnsMode::Active)
                  .mdns_interface("lo")
                  .mdns_port(bench_port())
                  .spawn_blocking();
  if (!node) {
    std::fprintf(stderr, "spawn: %s\n", node.error().to_string().c_str());
    std::exit(1);
  }
  return std::move(*node);
}

// Polls a counter (the figure's resolution is 1 ms); false when `timeout` passed first.
bool wait_found(const Node& node, std::uint64_t count, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (node.discovery_metrics().peers_found < count) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

void first_peer(p2panda::bench::Figures& figures) {
  auto resident = spawn_node();
  std::vector<double> millis;
  for (int i = 0; i < 21; ++i) {
    auto fresh = spawn_node();
    const auto start = Clock::now();
    if (!wait_found(fresh, 1, 10s)) {
      std::fprintf(stderr, "a fresh node found no peer within 10 s\n");
      std::exit(1);
    }
    millis.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  figures["mdns_first_peer_p50_ms"] = percentile(millis, 0.5);
  figures["mdns_first_peer_p90_ms"] = percentile(millis, 0.9);
}

// Bytes all `count` nodes send per minute once idle; also stores the per-node figure.
double idle_bytes(std::size_t count, double& per_node) {
  std::vector<Node> nodes;
  for (std::size_t i = 0; i < count; ++i) nodes.push_back(spawn_node());
  for (auto& node : nodes) {
    if (!wait_found(node, count - 1, 30s)) {
      std::fprintf(stderr, "%zu nodes did not all find each other\n", count);
      std::exit(1);
    }
  }
  std::this_thread::sleep_for(3s);  // let the start-up announcements pass
  auto sent = [&] {
    std::uint64_t total = 0;
    for (const auto& node : nodes) total += node.discovery_metrics().mdns_bytes_sent;
    return total;
  };
  const auto before = sent();
  constexpr auto kWindow = 15s;
  std::this_thread::sleep_for(kWindow);  // the measurement window itself
  const double per_minute = static_cast<double>(sent() - before) * (60.0 / 15.0);
  per_node = per_minute / static_cast<double>(count);
  return per_minute;
}

}  // namespace

int main(int argc, char** argv) {
  std::string results;
  if (!p2panda::bench::parse_results_flag(argc, argv, "mdns_bench [--results FILE]", results)) {
    return 2;
  }
  p2panda::bench::Figures figures;
  first_peer(figures);
  double per_node = 0;
  figures["discovery_idle_lan_bytes_per_min_n2"] = idle_bytes(2, per_node);
  figures["discovery_idle_lan_bytes_per_min_n8"] = idle_bytes(8, per_node);
  figures["discovery_idle_bytes_per_min"] = per_node;
  p2panda::bench::print_summary(figures);
  if (!results.empty() && !p2panda::bench::merge_results(results, figures)) return 1;
  return 0;
}

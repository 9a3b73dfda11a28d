// Sync efficiency on the simulated network (issue 4). Bytes are counted on the wire as framed
// messages (4-byte length + postcard payload), handshake included; round trips as simulated time
// over the link's round-trip time, so the figures are exact and repeatable.
//   sync_uptodate_round_trips      two peers holding the same 1,000 logs: round trips from the
//                                  start of the sync stream until both are live (goal 1)
//   sync_uptodate_bytes_1000_logs  bytes both ways for that, handshake included
//   sync_overhead_ratio_k1000      n = 10,000 operations (256-byte bodies) in 10 logs, one peer
//                                  lacks k = 1,000: wire bytes / bytes of the missing operations
//                                  (goal <= 1.05)
// Usage: sync_bench [--results FILE]
#include <cstdio>
#include <string>

#include "figures.hpp"
#include "sim/sim_node.hpp"

namespace p2panda::bench {
namespace {

constexpr sim::Micros kDelay = 10'000;  // one way: RTT 20 ms

struct Pair {
  sim::SimNetwork network{1, sim::LinkConfig{.delay = kDelay}};
  std::vector<std::unique_ptr<sim::SimNode>> nodes;
  Topic topic = Topic::random();

  Pair() {
    for (int i = 0; i < 2; ++i) {
      nodes.push_back(std::make_unique<sim::SimNode>(
          network, [this](sim::NodeIndex self, const Topic&) {
            return std::vector<sim::NodeIndex>{self == 0 ? 1u : 0u};
          }));
    }
  }
  // Inserts signed operations straight into a node's store, as if published long ago.
  void seed_logs(std::size_t node, const std::vector<Operation>& operations) {
    auto stored = nodes[node]->store().write([&](store::StoreWriter& writer) -> Result<void> {
      for (const auto& operation : operations) {
        auto result = stream::check_and_ingest(writer, operation, topic, {});
        if (!result) return Unexpected{result.error()};
      }
      return {};
    });
    if (!stored) std::fprintf(stderr, "seed: %s\n", stored.error().to_string().c_str());
  }
  // Starts both, runs until both sessions are live; returns the simulated time that took.
  sim::Micros sync() {
    const sim::Micros start = network.now();
    nodes[1]->follow(topic);
    nodes[0]->follow(topic);
    network.run_until([&] { return nodes[0]->live_sessions() == 1 && nodes[1]->live_sessions() == 1; },
                      start + 600'000'000);
    return network.now() - start;
  }
};

std::vector<Operation> make_logs(std::size_t logs, std::size_t per_log, std::size_t body,
                                 const Topic& topic) {
  std::vector<Operation> operations;
  for (std::size_t l = 0; l < logs; ++l) {
    const PrivateKey key = PrivateKey::generate();
    std::optional<Hash> backlink;
    for (std::size_t s = 0; s < per_log; ++s) {
      operations.push_back(create_node_operation(
          key, {.topic = topic, .seq_num = SeqNum(static_cast<std::uint32_t>(s)),
                .backlink = backlink, .timestamp = Timestamp(s + 1),
                .body = Body(Bytes(body, static_cast<std::uint8_t>(s)))}));
      backlink = operations.back().id();
    }
  }
  return operations;
}

// n operations in `logs` logs; node 1 lacks the last k/logs of each log.
std::pair<double, double> overhead(std::size_t n, std::size_t k, std::size_t logs) {
  Pair pair;
  const auto operations = make_logs(logs, n / logs, 256, pair.topic);
  std::vector<Operation> partial;
  double missing_bytes = 0;
  const std::size_t per_log = n / logs, missing_per_log = k / logs;
  for (std::size_t i = 0; i < operations.size(); ++i) {
    if (i % per_log < per_log - missing_per_log) {
      partial.push_back(operations[i]);
    } else {
      missing_bytes += static_cast<double>(operations[i].header_bytes().size() +
                                           operations[i].body()->size());
    }
  }
  pair.seed_logs(0, operations);
  pair.seed_logs(1, partial);
  const sim::Micros took = pair.sync();
  const double wire = static_cast<double>(pair.network.stats().bytes);
  std::printf("  n=%-6zu k=%-5zu logs=%-4zu wire %9.0f B  missing %9.0f B  ratio %.4f  %4.1f RTT\n",
              n, k, logs, wire, missing_bytes, missing_bytes ? wire / missing_bytes : 0.0,
              static_cast<double>(took) / (2.0 * kDelay));
  return {wire, missing_bytes};
}

}  // namespace
}  // namespace p2panda::bench

int main(int argc, char** argv) {
  using namespace p2panda;
  using namespace p2panda::bench;
  std::string results;
  if (!parse_results_flag(argc, argv, "sync_bench [--results FILE]", results)) return 2;
  Figures figures;
  {
    // Up to date: 1,000 logs of one operation each, on both sides.
    Pair pair;
    const auto operations = make_logs(1000, 1, 16, pair.topic);
    pair.seed_logs(0, operations);
    pair.seed_logs(1, operations);
    const sim::Micros took = pair.sync();
    // Handshake: Topic, Done, Done = 1.5 RTT before the sync stream starts; the rest is sync.
    const double round_trips = static_cast<double>(took) / (2.0 * kDelay) - 1.5;
    figures["sync_uptodate_round_trips"] = round_trips;
    figures["sync_uptodate_bytes_1000_logs"] = static_cast<double>(pair.network.stats().bytes);
    std::printf("up to date, 1000 logs: %.2f round trips after the handshake, %llu bytes\n",
                round_trips, static_cast<unsigned long long>(pair.network.stats().bytes));
  }
  std::printf("differences (256-byte bodies):\n");
  for (auto [n, k, logs] : {std::tuple{1000, 10, 10}, std::tuple{1000, 100, 10},
                            std::tuple{10000, 100, 10}, std::tuple{10000, 1000, 100}}) {
    overhead(static_cast<std::size_t>(n), static_cast<std::size_t>(k), static_cast<std::size_t>(logs));
  }
  const auto [wire, missing] = overhead(10000, 1000, 10);
  figures["sync_overhead_ratio_k1000"] = wire / missing;
  print_summary(figures);
  if (!results.empty() && !merge_results(results, figures)) return 1;
  return 0;
}

// Three nodes on the simulated network: one publishes while another is cut off, then the
// partition heals and everyone catches up through sync. Shows the session events apps will see.
// Simulated time, seeded: the same output every run. Run it with `./run demo`.
#include <cstdio>

#include "sim/sim_node.hpp"

using namespace p2panda;
using namespace p2panda::sim;

namespace {

double ms(Micros at) { return static_cast<double>(at) / 1000.0; }

std::uint32_t height(SimNode& node, const Topic& topic, const PublicKey& author) {
  auto heights = node.store().query([&](store::StoreReader& r) { return r.topic_heights(topic); });
  if (!heights || !heights->count(author)) return 0;
  return heights->at(author).begin()->second.value() + 1;
}

}  // namespace

int main() {
  SimNetwork network(2026, LinkConfig{.delay = 15'000, .jitter = 5'000, .loss = 0.02});
  std::vector<std::unique_ptr<SimNode>> nodes;
  auto everyone = [&nodes](NodeIndex self, const Topic&) {
    std::vector<NodeIndex> peers;
    for (const auto& node : nodes) {
      if (node->index() != self) peers.push_back(node->index());
    }
    return peers;
  };
  const char* names[] = {"panda", "sloth", "koala"};
  for (int i = 0; i < 3; ++i) nodes.push_back(std::make_unique<SimNode>(network, everyone));
  std::array<std::uint8_t, 32> topic_bytes{};
  topic_bytes[0] = 42;
  const Topic topic(topic_bytes);
  for (auto& node : nodes) node->follow(topic);
  SimNode& panda = *nodes[0];

  auto report = [&](const char* moment) {
    std::printf("%8.1f ms  %-34s", ms(network.now()), moment);
    for (int i = 0; i < 3; ++i) {
      std::printf("  %s has %u", names[i], height(*nodes[i], topic, panda.id()));
    }
    std::printf("\n");
  };

  network.run_for(200'000);
  for (int i = 0; i < 3; ++i) (void)panda.publish(topic, Bytes{static_cast<std::uint8_t>(i)});
  network.run_for(200'000);
  report("panda published 3 (live)");

  network.partition({{nodes[2]->index()}}, 300'000);
  for (int i = 0; i < 5; ++i) (void)panda.publish(topic, Bytes{static_cast<std::uint8_t>(i)});
  network.run_for(1'000'000);
  report("koala cut off, panda published 5");

  network.heal();
  network.run_until([&] { return height(*nodes[2], topic, panda.id()) == 8; },
                    network.now() + 30'000'000);
  report("healed: koala synced");

  const auto& stats = nodes[2]->stats();
  std::printf("\nkoala's sessions:\n");
  for (const auto& started : stats.started) {
    std::printf("  SyncStarted  session %llu: %llu operations incoming (%llu bytes), "
                "%u session(s) on the topic\n",
                static_cast<unsigned long long>(started.session_id),
                static_cast<unsigned long long>(started.incoming_operations),
                static_cast<unsigned long long>(started.incoming_bytes), started.topic_sessions);
  }
  for (const auto& ended : stats.ended) {
    std::printf("  SyncEnded    session %llu: received %llu operations, %s\n",
                static_cast<unsigned long long>(ended.session_id),
                static_cast<unsigned long long>(ended.metrics.received_operations),
                ended.error ? ended.error->to_string().c_str() : "closed cleanly");
  }
  std::printf("network: %llu messages, %llu bytes, %llu retransmissions\n",
              static_cast<unsigned long long>(network.stats().messages),
              static_cast<unsigned long long>(network.stats().bytes),
              static_cast<unsigned long long>(network.stats().retransmissions));
  return height(*nodes[2], topic, panda.id()) == 8 ? 0 : 1;
}

// The idle node that node_bench measures (node_bench_rss.cpp): a program that is only a node,
// as an application embedding one would be, without the benchmark library or node_bench's own
// code mapped in. Reads step commands on stdin ("start", "spawn", "topics"), answers "ready" on
// stdout after each; EOF shuts the node down.
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <p2panda/node.hpp>

#include "node_bench.hpp"

namespace p2panda::bench {
namespace {

using namespace std::chrono_literals;
constexpr auto kSettle = 300ms;  // as node_bench_rss.cpp waits before reading VmRSS

int run_idle_child() {
  std::optional<Node> node;
  std::vector<Stream<std::string>> streams;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "spawn") {
      auto spawned = spawn_blocking();  // the defaults: in-memory SQLite, QUIC on 127.0.0.1
      if (!spawned) return 1;
      node.emplace(std::move(*spawned));
    } else if (line == "topics" && node) {
      streams.reserve(kIdleTopics);
      for (std::size_t i = 0; i < kIdleTopics; ++i) {
        auto stream = node->stream_blocking<std::string>(Topic::random());
        if (!stream) return 1;
        streams.push_back(std::move(*stream));
      }
    } else if (line != "start") {
      return 2;
    }
    std::this_thread::sleep_for(kSettle);
    std::cout << "ready" << std::endl;
  }
  streams.clear();
  if (node) node->shutdown();
  return 0;
}

}  // namespace
}  // namespace p2panda::bench

int main() { return p2panda::bench::run_idle_child(); }

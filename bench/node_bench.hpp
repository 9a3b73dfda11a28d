// Shared between node_bench's scenarios (node_bench.cpp) and its memory measurement
// (node_bench_rss.cpp). Main thread only.
#pragma once

#include <cstddef>
#include <optional>

namespace p2panda::bench {

// Topic streams the idle child opens for rss_per_topic_kb.
constexpr std::size_t kIdleTopics = 1000;

struct RssFigures {
  double process_mb = 0;    // the child before spawn(): libraries and runtime only
  double idle_node_mb = 0;  // the child with one spawned, idle node
  double per_topic_kb = 0;  // growth per opened topic stream
};

// Starts the idle_node program (bench/idle_node.cpp) and reads its VmRSS after each step.
// Nullopt (after a message on stderr) when the child cannot be started or does not answer.
std::optional<RssFigures> measure_rss(const char* idle_node);

}  // namespace p2panda::bench

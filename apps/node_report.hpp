// NodeReport: what `p2panda node` prints and counts. It turns stream events into the lines of the
// scripting contract (docs/cli.md: one JSON object per line with --json, readable text without),
// derives peer_up/peer_down from sync sessions per remote, and keeps the figures the metrics
// endpoint serves that the node does not count itself (peers, the pipeline latency histogram).
// Thread-safe: the topic reader threads, the stdin publisher and the metrics server share one.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include <p2panda/events.hpp>
#include <p2panda/ids.hpp>

namespace p2panda::apps {

// Publish (the operation's timestamp, set by its author) to delivery here, in seconds.
struct LatencyHistogram {
  static constexpr std::array<double, 10> kBounds{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,  0.1,    0.25,  1.0,  5.0};
  std::array<std::uint64_t, kBounds.size()> buckets{};  // not cumulative; the server sums
  std::uint64_t count = 0;
  double sum = 0;
  void observe(double seconds);
};

class NodeReport {
 public:
  explicit NodeReport(bool json) : json_(json) {}

  // Prints `object` as one line (JSON, or its readable form) and flushes.
  void emit(const nlohmann::ordered_json& object);
  void error(const std::string& message);
  // One event of `topic`'s subscription.
  void on_event(const Topic& topic, const StreamEvent<std::string>& event);
  // One of the node's system events (discovered, neighbor_up, neighbor_down).
  void on_system_event(const SystemEvent& event);

  std::vector<std::string> peers() const;  // remotes with a running session, hex, sorted
  LatencyHistogram latency() const;

 private:
  void on_session_started(const NodeId& remote, std::uint64_t session);
  void on_session_ended(const NodeId& remote, std::uint64_t session);
  void emit_locked(const nlohmann::ordered_json& object);

  const bool json_;
  mutable std::mutex mutex_;
  std::map<NodeId, std::set<std::uint64_t>> sessions_;  // running sessions per remote
  std::set<Topic> replaying_;  // replayed operations are old: kept out of the latency figures
  LatencyHistogram latency_;
};

// The readable line for a contract object (what `node` prints without --json).
std::string readable(const nlohmann::ordered_json& object);

}  // namespace p2panda::apps

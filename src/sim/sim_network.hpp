// SimNetwork: a seeded, single-threaded discrete-event network for whole-node tests.
//
// Nodes are indices; connections are reliable, ordered message channels between two nodes (what a
// QUIC stream gives the protocols above). Each link has a one-way delay, jitter, a loss rate and a
// bandwidth: a lost message is retransmitted after a timeout, as a reliable transport would, so
// loss shows up as delay and extra bytes, never as a gap. partition() splits the nodes into groups:
// connections across groups break (both ends are told after `detect_after`, like an idle
// timeout) and new ones cannot be opened until heal(). Time is simulated: nothing sleeps, and the
// same seed replays the same run. Not thread-safe: one test thread drives it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <vector>

#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>

namespace p2panda::sim {

using Micros = std::uint64_t;
using NodeIndex = std::uint32_t;
using ConnectionId = std::uint64_t;

struct LinkConfig {
  Micros delay = 5'000;               // one way
  Micros jitter = 0;                  // uniform extra delay in [0, jitter]
  double loss = 0.0;                  // probability a transmission is lost (then retransmitted)
  std::uint64_t bytes_per_second = 0; // 0: unlimited
};

struct NodeHandler {
  // A connection from `remote` arrived (the connector already has its id).
  std::function<void(ConnectionId, NodeIndex remote)> on_accept;
  std::function<void(ConnectionId, Bytes message)> on_message;
  // The connection ended: gracefully (the other side closed) or with an error (partition).
  std::function<void(ConnectionId, Result<void> reason)> on_closed;
};

struct NetworkStats {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;            // payloads plus a 4-byte frame header each, retransmissions included
  std::uint64_t retransmissions = 0;
};

class SimNetwork {
 public:
  explicit SimNetwork(std::uint64_t seed, LinkConfig default_link = {});

  NodeIndex add_node(NodeHandler handler);
  // The node's public key, as TLS would authenticate it to its peers.
  void set_identity(NodeIndex node, const PublicKey& key) { identities_[node] = key; }
  PublicKey identity(NodeIndex node) const {
    auto found = identities_.find(node);
    return found == identities_.end() ? PublicKey{} : found->second;
  }
  void set_link(NodeIndex a, NodeIndex b, LinkConfig config);  // both directions

  // Opens a connection. Errors: InvalidArgument (unknown node), StoreBusy-like refusal is not
  // modelled: a partition makes it fail with Io.
  Result<ConnectionId> connect(NodeIndex from, NodeIndex to);
  // Queues `message` from `from` to the other end. Ignored on a closed connection.
  void send(ConnectionId connection, NodeIndex from, Bytes message);
  // Graceful close: the other end gets on_closed(ok) after everything sent before arrived.
  void close(ConnectionId connection, NodeIndex from);
  bool is_open(ConnectionId connection) const;

  void partition(const std::vector<std::vector<NodeIndex>>& groups, Micros detect_after = 1'000'000);
  void heal();
  bool reachable(NodeIndex a, NodeIndex b) const;

  // Scheduler.
  Micros now() const { return now_; }
  void schedule(Micros at, std::function<void()> callback);
  void schedule_after(Micros delay, std::function<void()> callback) {
    schedule(now_ + delay, std::move(callback));
  }
  // Runs the next event; false when none is left.
  bool step();
  // Runs events until `done()` holds (true) or simulated time passes `deadline` (false).
  bool run_until(const std::function<bool()>& done, Micros deadline);
  // Runs every event up to and including time `until`.
  void run_for(Micros duration);

  std::mt19937_64& rng() { return rng_; }
  const NetworkStats& stats() const { return stats_; }

 private:
  struct Event {
    Micros at;
    std::uint64_t order;  // ties keep scheduling order: deterministic
    std::function<void()> callback;
    bool operator>(const Event& other) const {
      return at != other.at ? at > other.at : order > other.order;
    }
  };
  struct Direction {
    Micros last_delivery = 0;  // keeps messages in order
    Micros link_free = 0;      // bandwidth: when the link finishes the previous message
  };
  struct Connection {
    NodeIndex a, b;
    bool broken = false;   // partitioned or fully closed: nothing is delivered any more
    bool closing = false;  // one side closed: it sends nothing more, in-flight data still arrives
    Direction a_to_b, b_to_a;
  };

  const LinkConfig& link(NodeIndex a, NodeIndex b) const;
  Micros transit_time(const LinkConfig& config, std::size_t size, Direction& direction);
  void deliver_closed(ConnectionId id, NodeIndex to, Result<void> reason, Micros at);

  std::mt19937_64 rng_;
  LinkConfig default_link_;
  std::map<std::pair<NodeIndex, NodeIndex>, LinkConfig> links_;
  std::vector<NodeHandler> nodes_;
  std::map<NodeIndex, PublicKey> identities_;
  std::vector<int> group_;  // partition group per node; all 0 when healed
  std::map<ConnectionId, Connection> connections_;
  ConnectionId next_connection_ = 1;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::uint64_t next_order_ = 0;
  Micros now_ = 0;
  NetworkStats stats_;
};

}  // namespace p2panda::sim

// SimHub: the in-memory network that SimTransports (sim_transport.hpp) talk through, for whole-node
// tests without sockets. One hub per test; each node joins with SimHub::add() and gets a
// net::Transport that behaves as QUIC would: authenticated connections to node ids, ALPN routing,
// ordered reliable streams with flow control, graceful close, stream abort.
//
// Links have a one-way delay, jitter, a loss rate and a bandwidth. Loss never makes a gap: a lost
// packet is retransmitted, so it arrives later (and costs bytes again). partition() breaks every
// connection across groups (each end learns it after `detect_after`, like an idle timeout) and
// refuses new ones until heal().
//
// Time is real: deliveries wait on asio steady_timers on the receiving node's executor. Every
// decision (loss, jitter) comes from seeded per-direction random streams, so the same seed makes
// the same decisions for the same traffic, but runs are not replayable bit for bit. See
// docs/net.md, "Transport interface and SimTransport".
//
// Threading: every SimHub method may be called from any thread (one mutex guards the hub). Nodes
// may run on different io_context threads. REQUIRES: each node's io_context outlives its
// SimTransport and every handle it gave out.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>

#include "net/asio.hpp"
#include "net/config.hpp"
#include "net/transport.hpp"

namespace p2panda::net {

class SimConnection;
class SimTransport;
struct SimFrame;
struct SimWire;

struct LinkConfig {
  std::chrono::microseconds delay{1000};  // one way
  std::chrono::microseconds jitter{0};    // uniform extra delay in [0, jitter]
  double loss = 0.0;                      // probability that one transmission of a packet is lost
  std::uint64_t bytes_per_second = 0;     // 0: unlimited
};

struct SimHubConfig {
  std::uint64_t seed = 1;
  LinkConfig link;  // for every pair without set_link()
  // Per-stream receive window: a writer waits once this many bytes are sent but not yet read.
  // Rounded up to a multiple of 16 KiB (the packet size).
  std::size_t stream_window = 256 * 1024;
  // How long a partition takes to break a connection, unless partition() says otherwise.
  std::chrono::milliseconds detect_after{1000};
};

// Per-node counters. bytes count stream payload (retransmissions included on the sending side);
// messages count packets (data, flow-control credit, stream abort, close).
struct SimNodeStats {
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t retransmissions = 0;  // lost transmissions of packets this node sent
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_accepted = 0;
};

class SimHub : public std::enable_shared_from_this<SimHub> {
 public:
  static std::shared_ptr<SimHub> create(SimHubConfig config = {});

  // A node with this id whose connections and handlers run on `executor`. Adding an id again
  // replaces the directory entry (a restarted node): new connections reach the newer transport.
  std::shared_ptr<SimTransport> add(const PrivateKey& key, asio::any_io_executor executor);
  std::shared_ptr<SimTransport> add(const PublicKey& node_id, asio::any_io_executor executor);

  // Link between two nodes, both directions; applies to packets sent from now on.
  void set_link(const PublicKey& a, const PublicKey& b, LinkConfig config);

  // Splits the nodes into groups (nodes not named form one more group). Connections across groups
  // break: both ends see closed() fail and pending operations fail after `detect_after` (default:
  // SimHubConfig::detect_after); packets in flight between groups are lost. Connecting across
  // groups fails with Io until heal(). A connection broken once stays broken after heal().
  void partition(const std::vector<std::vector<PublicKey>>& groups,
                 std::optional<std::chrono::milliseconds> detect_after = std::nullopt);
  void heal();
  bool reachable(const PublicKey& a, const PublicKey& b) const;

  // Counters of the node currently registered under `node_id` (zeros for an unknown id).
  SimNodeStats stats(const PublicKey& node_id) const;
  const SimHubConfig& config() const { return config_; }

  // --- Used by SimTransport and SimConnection (all thread-safe). ---

  struct Opened {
    std::shared_ptr<SimConnection> connection;
    std::chrono::nanoseconds handshake;  // one round trip, waited by the connector
  };
  // Creates both ends of a connection from node `from` to `to` and starts the acceptor's
  // handler. Errors: Io when `to` is unknown, gone or partitioned away; HandshakeRejected when it
  // has no handler for `alpn`.
  Result<Opened> open(std::uint32_t from, const PublicKey& to, const Bytes& alpn);
  void register_protocol(std::uint32_t node, ByteSpan alpn, TransportHandler handler);
  // The node's transport is going away: its connections end at once locally (Endpoint) and after
  // detect_after at their peers (IdleTimeout).
  void remove(std::uint32_t node);
  SimNodeStats stats(std::uint32_t node) const;

  // Sends `frame` from `side` of `wire` toward the other side. Dropped silently when the wire is
  // broken or either side closed, as packets into the void.
  void transmit(SimWire& wire, int side, SimFrame frame);
  // Packets for `side` that are due at `now`, in order; `next` is when the next one is due.
  std::vector<SimFrame> take_due(SimWire& wire, int side, std::chrono::steady_clock::time_point now,
                                 std::optional<std::chrono::steady_clock::time_point>& next);
  // `side` closed: it sends and receives nothing more.
  void release(SimWire& wire, int side);

 private:
  struct Node {
    PublicKey id;
    asio::any_io_executor executor;
    std::map<Bytes, TransportHandler> protocols;
    SimNodeStats stats;
    bool alive = true;
    // open() calls that made a connection end on this node's executor and have not yet handed
    // it over: remove() waits for them, so that the node's io_context outlives what they post.
    std::uint32_t opening = 0;
  };

  explicit SimHub(SimHubConfig config);
  std::shared_ptr<SimTransport> add_node(const PublicKey& node_id, asio::any_io_executor executor);
  int group_of(const PublicKey& node) const;  // REQUIRES: mutex_ held
  const LinkConfig& link(std::uint32_t a, std::uint32_t b) const;  // REQUIRES: mutex_ held
  // REQUIRES: mutex_ held. Ends the wire; each side's connection ends after its delay.
  void break_wire(SimWire& wire, const std::array<CloseInfo, 2>& info,
                  const std::array<std::chrono::milliseconds, 2>& delay);
  std::mt19937_64 direction_rng(std::uint32_t from, std::uint32_t to, std::uint64_t nth, int dir);

  const SimHubConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable opened_;  // a Node::opening count went down
  std::vector<Node> nodes_;  // index = node number, never reused
  std::map<PublicKey, std::uint32_t> directory_;
  std::map<std::pair<PublicKey, PublicKey>, LinkConfig> links_;
  std::map<PublicKey, int> groups_;  // empty when healed
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> connections_per_pair_;
  std::vector<std::weak_ptr<SimWire>> wires_;
};

}  // namespace p2panda::net

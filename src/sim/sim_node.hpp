// SimNode: a node reduced to what sync needs, running the real protocol cores (topic handshake,
// LogSyncSession, ingest) over a SimNetwork and a real in-memory SQLite store. It connects to the
// peers its `peers_for` oracle names for each topic it follows (standing in for discovery and
// gossip), opens missing sessions again every `retry_after`, validates and ingests what it receives,
// and forwards to its other sessions only what ingest accepted. Driven by the network's event
// loop on the test thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>

#include "sim/sim_network.hpp"
#include "store/sqlite_store.hpp"
#include "stream/ingest.hpp"
#include "sync/log_sync.hpp"
#include "sync/topic_metrics.hpp"

namespace p2panda::sim {

struct SimNodeStats {
  std::uint64_t sessions_started = 0;
  std::uint64_t sessions_failed = 0;
  std::uint64_t handshakes_rejected = 0;  // as acceptor: topics we do not follow
  std::uint64_t handshakes_failed = 0;    // timed out or garbled
  std::uint64_t received = 0;             // operations reported by sessions (after dedup)
  std::uint64_t ingested = 0;             // inserted or pruned
  std::uint64_t rejected = 0;             // failed validation
  std::vector<Error> rejections;          // why, for the first few
  std::uint64_t forwarded = 0;            // offered to other sessions after ingest
  std::vector<sync::SyncStarted> started;
  std::vector<sync::SyncEnded> ended;
};

struct SimNodeConfig {
  sync::SessionConfig session;
  Micros retry_after = 5'000'000;  // p2panda retries failed sessions after 5 s
  stream::IngestConfig ingest;
};

class SimNode {
 public:
  using PeersFor = std::function<std::vector<NodeIndex>(NodeIndex self, const Topic& topic)>;

  SimNode(SimNetwork& network, PeersFor peers_for, SimNodeConfig config = {});
  SimNode(const SimNode&) = delete;
  SimNode& operator=(const SimNode&) = delete;

  NodeIndex index() const { return index_; }
  const PublicKey& id() const { return key_.public_key(); }
  store::SqliteStore& store() { return *store_; }
  const SimNodeStats& stats() const { return stats_; }
  const std::set<Topic>& topics() const { return topics_; }

  // Follows `topic` and starts sessions with the peers the oracle names.
  void follow(const Topic& topic);
  // Appends to this node's log in `topic` (which it must follow) and sends it live.
  Result<Operation> publish(const Topic& topic, Bytes body, bool prune = false);
  // Opens sessions for every followed topic that lacks one with a wanted peer.
  void connect_all();
  // Number of sessions currently in live mode.
  std::size_t live_sessions() const;
  bool idle() const;  // no session is mid-sync

 private:
  struct Session {
    ConnectionId connection;
    NodeIndex remote;
    PublicKey remote_id;
    bool initiator;
    Topic topic;
    bool handshaken = false;
    std::unique_ptr<sync::LogSyncSession> core = nullptr;
    sync::SessionId id = 0;
  };

  void on_accept(ConnectionId connection, NodeIndex remote);
  void on_message(ConnectionId connection, Bytes message);
  void on_closed(ConnectionId connection, Result<void> reason);
  void on_handshake(Session& session, Bytes message);
  void begin_sync(Session& session);
  void pump(ConnectionId connection);
  void drain_events(Session& session);
  void on_received(Session& session, Operation operation);
  void end(ConnectionId connection, std::optional<Error> error);
  void arm_timer(ConnectionId connection);
  void arm_handshake_timer(ConnectionId connection);
  void maintain();
  bool has_session(NodeIndex remote, const Topic& topic) const;

  SimNetwork& network_;
  PeersFor peers_for_;
  SimNodeConfig config_;
  PrivateKey key_;
  std::unique_ptr<store::SqliteStore> store_;
  NodeIndex index_;
  std::set<Topic> topics_;
  std::map<ConnectionId, Session> sessions_;
  std::map<Topic, sync::TopicSyncMetrics> metrics_;
  sync::SessionId next_session_ = 1;
  bool maintenance_started_ = false;
  SimNodeStats stats_;
};

}  // namespace p2panda::sim

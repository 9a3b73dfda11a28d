// NodeEngine: the node on its own thread. It owns the store, the transport and the topics, and
// wires them: publish (sign, persist, deliver, forward), operations from peers (validate, ingest,
// deliver, forward only what passed), subscriptions, and the sync sessions (sync_manager.hpp).
// Public handles (node.hpp) reach it through co_spawn onto executor(), except publishes, which
// their callers sign and queue (engine_publish.cpp).
//
// Threading: everything marked "node thread" REQUIRES running on executor(). Metrics are atomics
// and readable from any thread. The store runs its own threads (store/sqlite_store.hpp);
// publishes, received and imported operations and automatic acks reach it without blocking the
// node thread; explicit acks still block it (docs/node.md, "Threads").
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <p2panda/extensions.hpp>
#include <p2panda/node.hpp>
#include <p2panda/operation.hpp>

#include "node/config.hpp"
#include "node/discovery_manager.hpp"
#include "node/publish_reply.hpp"
#include "node/topic_stream.hpp"
#include "store/sqlite_store.hpp"
#include "stream/ingest.hpp"

namespace p2panda::node {
class IngestQueue;
class SyncManager;
class DiscoveryManager;
class TopicDiscovery;
}

namespace p2panda::detail {
class NodeGossip;

struct AtomicMetrics {
  std::atomic<std::uint64_t> published{0}, received{0}, ingested{0}, rejected{0}, delivered{0},
      sessions_started{0}, sessions_failed{0}, sessions_running{0}, bytes_sent{0},
      bytes_received{0};
};

class NodeEngine : public std::enable_shared_from_this<NodeEngine> {
 public:
  // Opens the store, makes the transport and registers the protocols.
  // Errors: Store* (database), Io or HandshakeRejected (transport), InvalidArgument.
  static Result<std::shared_ptr<NodeEngine>> create(NodeConfig config);
  ~NodeEngine();

  asio::any_io_executor executor() const { return executor_; }
  const NodeId& id() const { return id_; }
  const NodeConfig& config() const { return config_; }
  std::vector<std::string> addresses() const;
  NodeMetrics metrics() const;
  AtomicMetrics& counters() { return metrics_; }
  const node::DiscoveryCounters& discovery_counters() const { return discovery_counters_; }
  bool is_shut_down() const { return shut_down_.load(); }
  store::Store& store() { return *store_; }
  // Hands store completions to the node thread (closed at shutdown). Any thread.
  const std::shared_ptr<node::Completions>& completions() const { return completions_; }
  net::Transport& transport() { return *transport_; }
  const PrivateKey& key() const { return config_.key; }
  NodeGossip& gossip() { return *gossip_; }  // node thread (gossip_node.hpp)
  // Node thread: our transport info was signed anew (the interfaces' addresses changed); topic
  // discovery shares the new one and gossip puts the new addresses in its peer data.
  void own_info_changed(const discovery::TransportInfo& info);

  // Node thread. Each open() follows the topic until its release(): the node syncs it, is in its
  // gossip overlay and announces it to topic discovery while any opened stream is held.
  Result<std::shared_ptr<TopicStream>> open(const Topic& topic, StreamOptions options);
  void release(const Topic& topic);
  // The same for an opened ephemeral stream: the last one's release leaves the overlay.
  void release_ephemeral(const Topic& topic);
  // Any thread: signs and queues a publish (engine_publish.cpp). `reply` gets the operation id
  // once it is stored, or the error (NodeShutDown once the node is shut down); it is answered on
  // the writer thread, after the node thread's delivery and forwarding of it was queued, so
  // whatever the caller then asks of the node thread sees it delivered.
  void enqueue_publish(std::shared_ptr<TopicStream> stream, std::optional<Bytes> body, bool prune,
                       PublishReply reply);
  // Queues `operations` for ingest like received ones (IngestQueue) and completes once each was
  // processed: ImportStarted, their Processed events, then ImportEnded.
  net::Awaitable<ImportEnded> import(std::shared_ptr<TopicStream> stream,
                                     std::vector<Operation> operations);
  void close_sessions(const Topic& topic);
  void add_peer(net::PeerAddress peer, PeerDiscovered::Via via);
  void add_bootstrap(const net::PeerAddress& peer);  // address book, then add_peer
  void connection_outcome(const NodeId& remote, bool success);  // into the address book
  bool follows(const Topic& topic) const;
  bool causal(const Topic& topic) const;
  // What became of a received operation.
  enum class Absorbed { Stored, Known, Refused };  // Known: already stored, or below a prune
  // Validates and ingests an operation from a peer or an import off the node thread
  // (node/ingest_queue.hpp): `then` runs on the node thread once the operation was ingested (and
  // delivered when newly stored) or refused.
  void receive_queued(const Topic& topic, Operation operation, Source source,
                      std::function<void(Absorbed, const Operation&)> then);
  // Pushes an event (sync started/ended) to every subscription of the topic.
  void broadcast(const Topic& topic, const RawEvent& event);
  // To every open event stream (Node::event_stream). REQUIRES: node thread.
  void emit_system(const SystemEvent& event);

  // Any thread except the node's: ends sessions, wakes every waiter with NodeShutDown, stops the
  // transport and closes the store. Idempotent.
  void shutdown();

 private:
  NodeEngine(NodeConfig config, std::unique_ptr<store::SqliteStore> store);
  Result<void> start_transport();
  void deliver(const Topic& topic, std::span<const Hash> released, const Source& source,
               const Operation& arrived);
  net::Awaitable<void> watch(std::shared_ptr<TopicStream> stream);
  // The latest entry of our own log `log` (nullopt: empty), from the store. Any thread.
  Result<std::optional<OwnHead>> read_own_head(const LogId& log);
  // The heads of the other authors' logs in `topic` (causal dependencies): their latest entries
  // the orderer released. Any thread.
  Result<std::vector<Hash>> causal_heads(const Topic& topic);
  // Forgets the cached head of our log in `topic` unless it is at `stored` or beyond, after our
  // own operation at `stored` came from elsewhere and was stored (node thread).
  void forget_own_head(const Topic& topic, SeqNum stored);
  // A publish signed by its caller, waiting for the node thread to batch it.
  struct PublishRequest {
    Operation operation;
    Topic topic;
    NodeExtensions extensions;
    std::shared_ptr<OwnLog> own;
    std::uint64_t generation = 0;  // own's, when it was signed
    bool causal = false;
    PublishReply reply;
  };
  // Caller's thread, under own.mutex: the next operation of our log in `topic`.
  Result<Operation> sign_next(OwnLog& own, const Topic& topic, std::optional<Bytes> body,
                              bool prune);
  struct PublishBatch;
  void drain_publishes();                                   // any thread
  void judge_publishes(PublishBatch& batch, const Result<void>& status);  // writer thread
  void finish_publishes(PublishBatch& batch);                             // node thread
  void refuse_queued_publishes();                          // shutdown
  // What receive_queued() does with an ingest result (node thread).
  Absorbed absorb(const Topic& topic, const Operation& operation, const Source& source,
                  const Result<stream::IngestResult>& result);

  NodeConfig config_;
  NodeId id_;
  std::unique_ptr<store::SqliteStore> store_;
  // For transports that need a thread to run on (the simulated network); QUIC brings its own.
  std::unique_ptr<asio::io_context> io_;
  std::thread io_thread_;
  std::shared_ptr<net::Transport> transport_;
  // The transport's connection counter, readable after shutdown released the transport.
  std::shared_ptr<const std::atomic<std::size_t>> connection_count_;
  asio::any_io_executor executor_;
  std::shared_ptr<node::Completions> completions_;
  std::unique_ptr<node::IngestQueue> ingest_;
  std::unique_ptr<node::SyncManager> sync_;
  node::DiscoveryCounters discovery_counters_;
  std::unique_ptr<node::DiscoveryManager> discovery_;
  std::unique_ptr<node::TopicDiscovery> topic_discovery_;
  std::unique_ptr<NodeGossip> gossip_;

  struct TopicState {
    std::vector<std::weak_ptr<TopicStream>> streams;
    std::size_t held = 0;  // streams opened and not released: followed while above zero
    bool causal = false;
    std::shared_ptr<OwnLog> own = std::make_shared<OwnLog>();
  };
  std::map<Topic, TopicState> topics_;
  // Publishes handed to the writer and not yet delivered; shutdown() lets them finish.
  std::atomic<std::size_t> publishes_in_flight_{0};
  // Publishes from any thread wait here until the node thread signs them in batches.
  std::mutex publish_mutex_;
  std::deque<PublishRequest> publish_queue_;
  std::size_t publish_writing_ = 0;  // batches with the writer
  bool publish_closed_ = false;
  AtomicMetrics metrics_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace p2panda::detail

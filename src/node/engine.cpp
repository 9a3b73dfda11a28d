#include "node/engine.hpp"

#include <algorithm>
#include <future>

#include "core/thread_name.hpp"
#include "net/interfaces.hpp"
#include "net/quic_transport.hpp"
#include "node/gossip_node.hpp"
#include "node/ingest_queue.hpp"
#include "node/sync_manager.hpp"
#include "node/topic_discovery.hpp"
#include "core/try.hpp"
#include "stream/ingest.hpp"
#include "stream/orderer.hpp"

namespace p2panda::detail {

using node::now_micros;

NodeEngine::NodeEngine(NodeConfig config, std::unique_ptr<store::SqliteStore> store)
    : config_(std::move(config)), id_(config_.key.public_key()), store_(std::move(store)) {}

NodeEngine::~NodeEngine() {
  // shutdown() normally ran already (the last public handle calls it). If the engine dies on its
  // own thread, that thread cannot be joined from itself.
  if (io_thread_.joinable()) {
    if (io_thread_.get_id() == std::this_thread::get_id()) {
      io_thread_.detach();
    } else {
      io_->stop();
      io_thread_.join();
    }
  }
}

Result<std::shared_ptr<NodeEngine>> NodeEngine::create(NodeConfig config) {
  store::StoreOptions options;
  options.url = config.database_url;
  auto store = store::SqliteStore::open(options);
  if (!store) return Unexpected{std::move(store).error()};
  // Before any stream opens, so that replays bring what this releases.
  auto settled = (*store)->write([](store::StoreWriter& writer) -> Result<void> {
    P2PANDA_TRY(released, stream::release_settled(writer));
    (void)released;
    return {};
  });
  if (!settled) return Unexpected{std::move(settled).error()};
  std::shared_ptr<NodeEngine> engine(new NodeEngine(std::move(config), std::move(*store)));
  auto started = engine->start_transport();
  if (!started) return Unexpected{std::move(started).error()};
  engine->sync_ = std::make_unique<node::SyncManager>(*engine);
  engine->sync_->start();
  engine->gossip_ = std::make_unique<NodeGossip>(*engine->transport_, engine->config_.key,
                                                 engine->config_.network_id, *engine->sync_,
                                                 engine->config_.gossip_mode);
  engine->gossip_->start();
  // The discovery manager hands bootstrap peers, remembered peers and mDNS finds to add_peer.
  engine->discovery_ =
      std::make_unique<node::DiscoveryManager>(*engine, engine->discovery_counters_);
  // Confidential topic discovery walks the address book the discovery manager fills, sharing
  // the transport info it signs.
  engine->topic_discovery_ =
      std::make_unique<node::TopicDiscovery>(*engine, engine->discovery_counters_);
  // On the node thread; mDNS that cannot start (the port taken without SO_REUSEPORT, say)
  // leaves the node without mDNS rather than without a node.
  asio::post(engine->executor_, [weak = std::weak_ptr(engine)] {
    auto self = weak.lock();
    if (!self || self->is_shut_down()) return;
    (void)self->discovery_->start();
    if (self->discovery_->own_info()) self->topic_discovery_->start(*self->discovery_->own_info());
  });
  return engine;
}

void NodeEngine::own_info_changed(const discovery::TransportInfo& info) {
  topic_discovery_->update_own(info);
  gossip_->addresses_changed();
}

Result<void> NodeEngine::start_transport() {
  if (config_.transport_factory) {
    io_ = std::make_unique<asio::io_context>(1);
    auto made = config_.transport_factory(config_.key, io_->get_executor());
    if (!made) return Unexpected{std::move(made).error()};
    transport_ = std::move(*made);
    io_thread_ = std::thread([io = io_.get()] {
      name_this_thread("p2panda-node");
      auto guard = asio::make_work_guard(*io);
      net::run_io(*io);  // as the QUIC endpoint's thread does
    });
  } else {
    net::EndpointConfig endpoint;
    endpoint.key = config_.key;
    endpoint.bind_v4 = config_.bind_v4;
    endpoint.bind_v6 = config_.bind_v6;
    endpoint.transport = config_.transport;
    auto made = net::QuicTransport::bind(std::move(endpoint));
    if (!made) return Unexpected{std::move(made).error()};
    transport_ = std::move(*made);
  }
  executor_ = transport_->executor();
  connection_count_ = transport_->connection_count();
  completions_ = std::make_shared<node::Completions>(executor_);
  ingest_ = std::make_unique<node::IngestQueue>(*store_, completions_);
  return {};
}

std::vector<std::string> NodeEngine::addresses() const {
  std::vector<std::string> out;
  for (const auto& address : net::reachable_addresses(transport_->local_addresses())) {
    out.push_back(net::format_socket_address(address));
  }
  return out;
}

NodeMetrics NodeEngine::metrics() const {
  return NodeMetrics{metrics_.published.load(),        metrics_.received.load(),
                     metrics_.ingested.load(),         metrics_.rejected.load(),
                     metrics_.delivered.load(),        metrics_.sessions_started.load(),
                     metrics_.sessions_failed.load(),  metrics_.sessions_running.load(),
                     metrics_.bytes_sent.load(),       metrics_.bytes_received.load(),
                     gossip_->counters().published.load(), gossip_->counters().received.load(),
                     gossip_->counters().rejected.load(),
                     connection_count_ ? connection_count_->load() : 0};
}

Result<std::shared_ptr<TopicStream>> NodeEngine::open(const Topic& topic, StreamOptions options) {
  if (is_shut_down()) return fail(Errc::NodeShutDown, "the node was shut down");
  const AckPolicy policy = options.ack_policy.value_or(config_.ack_policy);
  auto& state = topics_[topic];
  // Once one stream of a topic is causal, the topic's operations go through the orderer for the
  // rest of the session, and every stream's replay follows the orderer too.
  state.causal = state.causal || options.causal;
  state.own->causal = state.causal;
  options.causal = state.causal;
  auto stream = std::make_shared<TopicStream>(*store_, topic, std::move(options), policy,
                                              config_.subscription_window);
  std::erase_if(state.streams, [](const auto& weak) { return weak.expired(); });
  state.streams.push_back(stream);
  stream->attach_own_log(state.own);
  stream->start(now_micros());
  asio::co_spawn(executor_, watch(stream), asio::detached);
  ++state.held;
  sync_->follow(topic);
  gossip_->follow(topic);
  topic_discovery_->topics_changed();
  return stream;
}

// The topic's own log, causal flag and streams stay: opening it again picks up where it was.
void NodeEngine::release(const Topic& topic) {
  auto found = topics_.find(topic);
  if (found == topics_.end() || found->second.held == 0) return;
  if (--found->second.held > 0 || is_shut_down()) return;
  sync_->unfollow(topic);
  gossip_->unfollow(topic);
  topic_discovery_->topics_changed();
}

void NodeEngine::release_ephemeral(const Topic& topic) {
  if (is_shut_down()) return;
  if (gossip_->release_ephemeral(topic)) topic_discovery_->topics_changed();
}

bool NodeEngine::follows(const Topic& topic) const {
  auto found = topics_.find(topic);
  return found != topics_.end() && found->second.held > 0;
}

// Wakes at the stream's redelivery deadlines (explicit acks) until it closes.
net::Awaitable<void> NodeEngine::watch(std::shared_ptr<TopicStream> stream) {
  while (!stream->closed() && !is_shut_down()) {
    auto deadline = stream->next_deadline();
    co_await stream->changed().wait_until(deadline ? node::from_micros(*deadline)
                                                   : node::Clock::time_point::max());
    stream->pump(now_micros());
  }
}

bool NodeEngine::causal(const Topic& topic) const {
  auto found = topics_.find(topic);
  return found != topics_.end() && found->second.causal;
}

Result<std::vector<Hash>> NodeEngine::causal_heads(const Topic& topic) {
  return store_->query([&](store::StoreReader& reader) -> Result<std::vector<Hash>> {
    auto logs = reader.resolve_topic(topic);
    if (!logs) return Unexpected{std::move(logs).error()};
    std::vector<Hash> heads;
    for (const auto& [author, author_logs] : *logs) {
      if (author == id_) continue;  // our own head is the backlink already
      for (const auto& log : author_logs) {
        // What our subscribers have seen: an entry the orderer holds back (its dependencies
        // never came, say) would hold ours back too, here and on every peer.
        auto latest = reader.latest_released_id(author, log);
        if (!latest) return Unexpected{std::move(latest).error()};
        if (*latest) heads.push_back(**latest);
      }
    }
    return heads;
  });
}

Result<std::optional<OwnHead>> NodeEngine::read_own_head(const LogId& log) {
  auto latest = store_->query(
      [&](store::StoreReader& reader) { return reader.latest_entry(id_, log); });
  if (!latest) return Unexpected{std::move(latest).error()};
  if (!*latest) return std::optional<OwnHead>{};
  return std::optional<OwnHead>(OwnHead{(*latest)->seq_num(), (*latest)->id()});
}

void NodeEngine::forget_own_head(const Topic& topic, SeqNum stored) {
  auto found = topics_.find(topic);
  if (found == topics_.end()) return;  // opened later, it reads the head from the store
  OwnLog& own = *found->second.own;
  std::lock_guard lock(own.mutex);
  if (own.head && *own.head && (**own.head).seq_num >= stored) return;  // an echo of ours
  own.head.reset();
  ++own.generation;
}

void NodeEngine::receive_queued(const Topic& topic, Operation operation, Source source,
                                std::function<void(Absorbed, const Operation&)> then) {
  const bool is_causal = causal(topic);
  ingest_->push({topic, std::move(operation), is_causal,
                 [self = shared_from_this(), topic, source = std::move(source),
                  then = std::move(then)](const Operation& stored,
                                          Result<stream::IngestResult> result) {
                   const Absorbed absorbed = self->absorb(topic, stored, source, result);
                   // Our own operation from elsewhere (a peer or an import holding our log,
                   // e.g. after restoring a device) beyond the head publish signs on: read the
                   // head from the store again. Not for an echo of one we published.
                   if (absorbed == Absorbed::Stored && stored.author() == self->id_) {
                     self->forget_own_head(topic, stored.seq_num());
                   }
                   then(absorbed, stored);
                 }});
}

NodeEngine::Absorbed NodeEngine::absorb(const Topic& topic, const Operation& operation,
                                        const Source& source,
                                        const Result<stream::IngestResult>& result) {
  if (!result) {
    broadcast(topic, ProcessingFailed{operation.id(), result.error(), source});
    return Absorbed::Refused;
  }
  if (auto* rejected = std::get_if<stream::Rejected>(&result->outcome)) {
    metrics_.rejected.fetch_add(1);
    broadcast(topic, ProcessingFailed{operation.id(), rejected->reason, source});
    return Absorbed::Refused;
  }
  if (std::holds_alternative<stream::AlreadyExists>(result->outcome) ||
      std::holds_alternative<stream::Obsolete>(result->outcome)) {
    return Absorbed::Known;
  }
  metrics_.ingested.fetch_add(1);
  deliver(topic, result->released, source, operation);
  return Absorbed::Stored;
}

void NodeEngine::deliver(const Topic& topic, std::span<const Hash> released, const Source& source,
                         const Operation& arrived) {
  if (released.empty()) return;
  const auto now = now_micros();
  for (const Hash& id : released) {
    std::optional<Operation> operation;
    if (id == arrived.id()) {
      operation = arrived;
    } else {
      // Held back by the causal orderer until now: it came earlier, from wherever.
      auto loaded = store_->query(
          [&](store::StoreReader& reader) { return reader.get_operation(id); });
      if (!loaded) {
        // Released, yet its row does not read (a damaged disk, an I/O error): said, not dropped.
        // Its topic cannot be read either; it most likely is this one.
        broadcast(topic, ProcessingFailed{id, std::move(loaded).error(), FromLocalStore{}});
        continue;
      }
      if (!*loaded) continue;  // pruned meanwhile
      operation = std::move(**loaded);
    }
    // A dependency may name an operation of another topic: what it held back belongs there.
    auto found = topics_.find(topic);
    if (id != arrived.id()) {
      auto extensions = node_extensions(operation->header());
      if (!extensions) continue;  // validated when it was stored
      if (extensions->log_id != LogId::from_topic(topic)) {
        found = std::find_if(topics_.begin(), topics_.end(), [&](const auto& entry) {
          return extensions->log_id == LogId::from_topic(entry.first);
        });
      }
    }
    if (found == topics_.end()) continue;  // not open: its replay brings it when it is
    const Source& from = id == arrived.id() ? source : Source{FromLocalStore{}};
    for (auto& weak : found->second.streams) {
      if (auto stream = weak.lock()) stream->offer(*operation, from, now);
    }
  }
}

void NodeEngine::emit_system(const SystemEvent& event) { gossip_->emit(event); }

void NodeEngine::broadcast(const Topic& topic, const RawEvent& event) {
  if (auto* started = std::get_if<SyncStarted>(&event)) {
    emit_system(SyncSessionStarted{topic, started->remote, started->session_id});
  } else if (auto* ended = std::get_if<SyncEnded>(&event)) {
    emit_system(SyncSessionEnded{topic, ended->remote, ended->session_id, ended->error});
  }
  auto found = topics_.find(topic);
  if (found == topics_.end()) return;
  for (auto& weak : found->second.streams) {
    if (auto stream = weak.lock()) stream->push(event);
  }
}

net::Awaitable<ImportEnded> NodeEngine::import(std::shared_ptr<TopicStream> stream,
                                              std::vector<Operation> operations) {
  static std::atomic<std::uint64_t> next_session{1};
  struct Progress {
    ImportEnded ended;
    std::size_t waiting = 0;
  };
  auto progress = std::make_shared<Progress>();
  progress->ended = ImportEnded{next_session.fetch_add(1), 0, 0};
  progress->waiting = operations.size();
  const Topic topic = stream->topic();
  const std::uint64_t session = progress->ended.session_id;
  broadcast(topic, ImportStarted{session});
  for (auto& operation : operations) {
    receive_queued(topic, std::move(operation), FromImport{session},
                   [this, progress, stream, topic](Absorbed absorbed, const Operation& stored) {
                     if (absorbed == Absorbed::Stored) {
                       ++progress->ended.imported;
                       sync_->publish(topic, stored, nullptr);
                     } else if (absorbed == Absorbed::Refused) {
                       ++progress->ended.failed;
                     }
                     --progress->waiting;
                     stream->changed().notify_all();
                   });
  }
  // The stream's signal also wakes on shutdown and close (then the count is what arrived).
  while (progress->waiting > 0 && !stream->closed() && !is_shut_down()) {
    co_await stream->changed().wait_until(node::Clock::time_point::max());
  }
  broadcast(topic, progress->ended);
  co_return progress->ended;
}

void NodeEngine::close_sessions(const Topic& topic) { sync_->close_topic(topic); }

void NodeEngine::add_peer(net::PeerAddress peer, PeerDiscovered::Via via) {
  if (peer.node_id == id_) return;
  gossip_->add_peer(peer, via);
  sync_->add_peer(std::move(peer));
}

void NodeEngine::add_bootstrap(const net::PeerAddress& peer) {
  if (peer.node_id != id_) discovery_->insert_bootstrap(peer);
}

void NodeEngine::connection_outcome(const NodeId& remote, bool success) {
  if (discovery_) discovery_->record_connection(remote, success);
}

void NodeEngine::shutdown() {
  if (shut_down_.exchange(true)) return;
  refuse_queued_publishes();  // not yet handed to the writer: answered NodeShutDown now
  ingest_->shutdown();        // received operations not yet verified are dropped (not stored)
  // On the node thread: end sessions and wake every waiter, who then sees NodeShutDown.
  auto self = shared_from_this();
  auto stopped = asio::co_spawn(
      executor_,
      [self]() -> net::Awaitable<void> {
        self->topic_discovery_->shutdown();
        self->discovery_->shutdown();
        self->gossip_->shutdown();  // its NeighborDowns end sessions before sync shuts down
        self->sync_->shutdown();
        for (auto& [topic, state] : self->topics_) {
          for (auto& weak : state.streams) {
            if (auto stream = weak.lock()) stream->close();
          }
        }
        co_return;
      },
      asio::use_future);
  stopped.wait_for(std::chrono::seconds(5));
  // Publishes awaiting their writes must answer rather than wait forever: the writer finishes
  // every queued job (in order, so once this one is done), then the node thread resumes them.
  (void)store_->write([](store::StoreWriter&) -> Result<void> { return {}; });
  auto drained = asio::co_spawn(
      executor_,
      [self]() -> net::Awaitable<void> {
        for (int i = 0; i < 10'000 && self->publishes_in_flight_ > 0; ++i) {
          co_await asio::post(self->executor_, asio::use_awaitable);
        }
        self->gossip_->release();  // before the io_context that its connections' timers use dies
      },
      asio::use_future);
  drained.wait_for(std::chrono::seconds(5));
  // Store completions must not be posted to a thread that is about to be destroyed.
  completions_->close();
  // Then stop the thread(s) from here: the QUIC endpoint joins its own thread on destruction.
  if (io_thread_.joinable()) {
    io_->stop();
    io_thread_.join();
  }
  transport_.reset();
  // Destroying the io_context destroys the coroutine frames still parked in it, and the sync
  // manager's retry loop waits on a Signal the manager owns: the manager must outlive them.
  io_.reset();
  sync_.reset();
  topic_discovery_.reset();
  discovery_.reset();
  store_->close();
  ingest_->discard_answers();  // answers that found the node thread gone hold this engine
}

}  // namespace p2panda::detail

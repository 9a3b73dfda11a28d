#include "node/sync_manager.hpp"

#include "node/engine.hpp"
#include "sync/messages.hpp"

namespace p2panda::node {
namespace {

// Application codes for aborted handshake streams.
constexpr std::uint64_t kNotFollowed = 1;
constexpr std::uint64_t kDuplicate = 2;
constexpr std::uint64_t kFailed = 3;

// Whether `error` is the peer's abort of our handshake stream with `code`.
bool aborted_with(const Error& error, std::uint64_t code) {
  return error.code() == Errc::StreamReset && error.stream_code() == code;
}

constexpr std::size_t kHandshakeLimit = 1024;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

SessionPhase phase_of(sync::Phase phase) {
  return phase == sync::Phase::Live ? SessionPhase::Live : SessionPhase::Sync;
}

}  // namespace

struct SyncManager::Session {
  NodeId remote;
  Topic topic;
  bool initiator = false;
  std::uint64_t id = 0;
  net::ConnectionHandle connection;
  net::StreamHandle stream;
  std::unique_ptr<sync::LogSyncSession> core;
  Signal wake;
  bool handshaken = false;
  bool ended = false;
  bool topic_known = false;  // ours from the start; a peer's once its handshake named it
  bool superseded = false;   // ended by the peer's session for the same slot: not a failure
  bool close_on_start = false;  // dropped during its handshake: closes as soon as it starts
  std::size_t ingesting = 0;  // received operations not yet through the ingest queue
  // run() is inside a frame's write: a graceful end waits for it, or the FIN would cut the frame.
  bool writing = false;
  bool finish_after_write = false;
  // SyncEnded waits until the session's last received operation was processed, so that a
  // subscriber sees every Processed event of a session before its end.
  std::optional<SyncEnded> ended_event;
};

namespace {
// Received operations a session may have in the ingest queue before it stops reading: QUIC's
// flow control then holds the sender back, and nothing piles up in memory.
constexpr std::size_t kMaxIngesting = 256;
}  // namespace

SyncManager::SyncManager(detail::NodeEngine& engine)
    : engine_(engine),
      alpn_(protocol_alpn("p2panda/log_sync/v1", engine.config().network_id)),
      backoff_(engine.config().sync_retry) {}

SyncManager::~SyncManager() = default;

void SyncManager::start() {
  engine_.transport().register_protocol(
      alpn_, [this](net::ConnectionHandle connection) { return serve(std::move(connection)); });
  asio::co_spawn(engine_.executor(), retry_loop(), asio::detached);
}

void SyncManager::follow(const Topic& topic) {
  topics_.insert(topic);
  // Followed again while a dropped session is still in its handshake: it goes on instead.
  for (auto& [key, session] : sessions_) {
    if (key.second == topic && !session->core) session->close_on_start = false;
  }
  connect_missing();
}

void SyncManager::unfollow(const Topic& topic) {
  if (!topics_.erase(topic)) return;
  topic_peers_.erase(topic);
  backoff_.forget_topic(topic);
  std::vector<std::shared_ptr<Session>> dropped;  // drop() may end them, and end() erases
  for (auto& [key, session] : sessions_) {
    if (key.second == topic) dropped.push_back(session);
  }
  for (const auto& session : dropped) drop(session);
}

// The handshake has no message for "never mind": a session whose peer may have seen its
// handshake finishes it and then sends Close at once, instead of closing the stream, which the
// peer could only take for a failure (SyncClosedUnexpectedly, or a rejected handshake and its
// backoff). One still dialling (no stream) is invisible to the peer and just ends.
void SyncManager::drop(std::shared_ptr<Session> session) {
  if (session->core) {
    session->core->close();  // ends gracefully, once what is queued is sent
    session->wake.notify_all();
  } else if (session->stream) {
    session->close_on_start = true;
  } else {
    end(*session, std::nullopt);
  }
}

void SyncManager::add_peer(net::PeerAddress peer) {
  auto& known = peers_[peer.node_id];
  known.node_id = peer.node_id;
  bool learnt = false;
  for (const auto& address : peer.addresses) {
    if (std::find(known.addresses.begin(), known.addresses.end(), address) ==
        known.addresses.end()) {
      known.addresses.push_back(address);
      learnt = true;
    }
  }
  // A new address may be the one that works: earlier failures say nothing about it.
  if (learnt) backoff_.clear_peer(peer.node_id);
  connect_missing();
}

void SyncManager::add_topic_peer(const Topic& topic, net::PeerAddress peer) {
  if (peer.node_id == engine_.id()) return;
  auto& known = topic_peers_[topic][peer.node_id];
  if (known.addresses != peer.addresses) backoff_.clear_peer(peer.node_id);
  if (auto session = sessions_.find({peer.node_id, topic});
      session != sessions_.end() && !session->second->core && topics_.contains(topic)) {
    session->second->close_on_start = false;  // a neighbour again before its session started
  }
  known = std::move(peer);
  connect_missing();
}

void SyncManager::remove_topic_peer(const Topic& topic, const NodeId& peer) {
  auto found = topic_peers_.find(topic);
  if (found != topic_peers_.end()) found->second.erase(peer);
  if (peers_.contains(peer)) return;  // a peer for every topic keeps its session
  auto session = sessions_.find({peer, topic});
  if (session == sessions_.end()) return;
  drop(session->second);
}

void SyncManager::connect_missing() {
  if (stopped_) return;
  const auto now = Clock::now();
  auto wanted = [&](const NodeId& remote, const Topic& topic) {
    return !sessions_.contains({remote, topic}) && backoff_.may_dial({remote, topic}, now);
  };
  for (const auto& topic : topics_) {
    for (const auto& [remote, peer] : peers_) {
      if (!wanted(remote, topic)) continue;
      asio::co_spawn(engine_.executor(), initiate(remote, topic), asio::detached);
    }
    auto neighbours = topic_peers_.find(topic);
    if (neighbours == topic_peers_.end()) continue;
    for (const auto& [remote, peer] : neighbours->second) {
      if (!wanted(remote, topic) || peers_.contains(remote)) continue;
      asio::co_spawn(engine_.executor(), initiate(remote, topic), asio::detached);
    }
  }
}

// Wakes every sync_retry, or earlier when a slot's backoff ends, so that a slot is dialled when
// its SyncSessionFailed said it would be.
net::Awaitable<void> SyncManager::retry_loop() {
  while (!stopped_) {
    const auto now = Clock::now();
    auto next = now + engine_.config().sync_retry;
    if (auto due = backoff_.next_due(now); due && *due < next) next = *due;
    co_await retry_.wait_until(next);
    connect_missing();
  }
}

// A handshake that does not finish within the sync timeout is aborted, so a silent peer cannot
// hold the (peer, topic) slot.
void SyncManager::watchdog(std::shared_ptr<Session> session) {
  auto timeout = std::chrono::microseconds(engine_.config().session.sync_timeout);
  asio::co_spawn(
      engine_.executor(),
      [this, session, timeout]() -> net::Awaitable<void> {
        asio::steady_timer timer(engine_.executor(), timeout);
        co_await timer.async_wait(net::use_tuple);
        if (session->handshaken || session->ended) co_return;
        end(*session, Error(Errc::SyncTimeout, "topic handshake did not finish"));
      },
      asio::detached);
}

net::Awaitable<void> SyncManager::initiate(NodeId remote, Topic topic) {
  if (stopped_ || sessions_.contains({remote, topic})) co_return;
  std::optional<net::PeerAddress> address;
  if (auto peer = peers_.find(remote); peer != peers_.end()) {
    address = peer->second;
  } else if (auto topic_peers = topic_peers_.find(topic); topic_peers != topic_peers_.end()) {
    if (auto known = topic_peers->second.find(remote); known != topic_peers->second.end()) {
      address = known->second;
    }
  }
  if (!address) co_return;
  auto session = std::make_shared<Session>();
  session->remote = remote;
  session->topic = topic;
  session->topic_known = true;
  session->initiator = true;
  session->id = next_session_++;
  sessions_[{remote, topic}] = session;
  watchdog(session);

  auto connecting = engine_.transport().connect(*address, alpn_);
  auto connection = co_await std::move(connecting);
  engine_.connection_outcome(remote, connection.has_value());  // the address book's metrics
  if (session->ended) co_return;
  if (!connection) co_return end(*session, connection.error());
  session->connection = *connection;
  auto stream = co_await session->connection->open_bi();
  if (session->ended) co_return;
  if (!stream) co_return end(*session, stream.error());
  session->stream = *stream;

  auto sent = co_await net::write_frame(*session->stream,
                                        sync::encode_topic_handshake(sync::HandshakeTopic{topic}));
  if (!sent) co_return end(*session, sent.error());
  auto reply = co_await net::read_frame(*session->stream, kHandshakeLimit);
  if (session->ended) co_return;
  if (!reply) {
    if (aborted_with(reply.error(), kNotFollowed)) {
      co_return end(*session, Error(Errc::HandshakeRejected, "the peer does not follow the topic"));
    }
    // Both dialled at once and the peer's session won: this slot is served, nothing failed.
    if (aborted_with(reply.error(), kDuplicate)) session->superseded = true;
    co_return end(*session, reply.error());
  }
  if (!*reply) co_return end(*session, Error(Errc::HandshakeRejected, "peer refused the topic"));
  auto decoded = sync::decode_topic_handshake(**reply);
  if (!decoded || !std::holds_alternative<sync::HandshakeDone>(*decoded)) {
    co_return end(*session, Error(Errc::SyncProtocolViolation, "expected the handshake's Done"));
  }
  auto done = co_await net::write_frame(*session->stream,
                                        sync::encode_topic_handshake(sync::HandshakeDone{}));
  if (!done) co_return end(*session, done.error());
  if (session->ended) co_return;  // replaced or timed out while the Done was written
  co_await run(session);
}

net::Awaitable<void> SyncManager::serve(net::ConnectionHandle connection) {
  for (;;) {
    auto stream = co_await connection->accept_bi();
    if (!stream || stopped_) co_return;
    asio::co_spawn(engine_.executor(), accept(connection, *stream), asio::detached);
  }
}

net::Awaitable<void> SyncManager::accept(net::ConnectionHandle connection,
                                         net::StreamHandle stream) {
  auto session = std::make_shared<Session>();
  session->remote = connection->remote_id();
  session->connection = connection;
  session->stream = stream;
  session->id = next_session_++;
  watchdog(session);
  auto first = co_await net::read_frame(*stream, kHandshakeLimit);
  if (session->ended) co_return;
  if (!first || !*first) {
    // The peer left before naming a topic (the loser of a dial race, say): nothing started, and
    // the watchdog must not count it as a timed-out session later. Our side of the stream ends
    // too, or it would hold one of the connection's stream slots.
    session->ended = true;
    stream->abort(kFailed);
    co_return;
  }
  auto decoded = sync::decode_topic_handshake(**first);
  auto* topic = decoded ? std::get_if<sync::HandshakeTopic>(&*decoded) : nullptr;
  if (topic == nullptr || !topics_.contains(topic->topic) || stopped_) {
    // Not a topic we follow (or garbage): refuse without saying anything else.
    session->ended = true;
    stream->abort(kNotFollowed);
    co_return;
  }
  session->topic = topic->topic;
  session->topic_known = true;
  if (!claim_incoming(session)) {
    session->ended = true;
    stream->abort(kDuplicate);
    co_return;
  }
  // Peers that dial us are worth dialling for our other topics, where the transport can reach
  // them by id alone (the simulated network); QUIC needs addresses, which discovery provides.
  if (!peers_.contains(session->remote) && engine_.transport().local_addresses().empty()) {
    peers_[session->remote] = net::PeerAddress{session->remote, {}};
  }
  auto sent = co_await net::write_frame(*stream,
                                        sync::encode_topic_handshake(sync::HandshakeDone{}));
  if (session->ended) co_return;
  if (!sent) co_return end(*session, sent.error());
  auto done = co_await net::read_frame(*stream, kHandshakeLimit);
  if (session->ended) co_return;
  if (!done || !*done) co_return end(*session, Error(Errc::HandshakeRejected, "peer left"));
  auto decoded_done = sync::decode_topic_handshake(**done);
  if (!decoded_done || !std::holds_alternative<sync::HandshakeDone>(*decoded_done)) {
    co_return end(*session, Error(Errc::SyncProtocolViolation, "expected the handshake's Done"));
  }
  co_await run(session);
}

bool SyncManager::claim_incoming(const std::shared_ptr<Session>& session) {
  auto found = sessions_.find({session->remote, session->topic});
  if (found != sessions_.end()) {
    // Both dialled at once (ours still in its handshake): the session started by the lower node
    // id wins, on both sides alike. Otherwise the peer gave up on the old session, or restarted
    // and cannot know it (a SIGKILLed node says nothing, and our connection to it stays up until
    // its idle timeout): the new session replaces the old one rather than being refused.
    // Ours wins only once its stream is open, i.e. once the peer can see it too. While it is
    // still connecting it may be dialling an address the peer no longer has (a restarted node
    // on a new port), and refusing the peer's session meanwhile kept the two apart until that
    // dial timed out (NodeCli.RestartedNodeCatchesUpFromItsDatabase flaked on it). Ending a
    // dial still in progress stops it before it opens a stream, so the peer never sees it.
    const bool racing = found->second->initiator && !found->second->handshaken;
    if (racing && found->second->stream && engine_.id() < session->remote) return false;
    found->second->superseded = true;
    // One we were closing (the topic was dropped and opened again before the peer's Close came
    // back) had ended for us already, and the peer has moved on: it ends as it would have, with
    // its stream finished, not as a failure.
    if (found->second->core && found->second->core->closing()) {
      end(*found->second, std::nullopt);
    } else {
      end(*found->second, Error(Errc::HandshakeRejected, "replaced by the peer's session"));
    }
  }
  sessions_[{session->remote, session->topic}] = session;
  return true;
}

net::Awaitable<void> SyncManager::run(std::shared_ptr<Session> session) {
  session->handshaken = true;
  backoff_.succeeded({session->remote, session->topic});
  session->core = std::make_unique<sync::LogSyncSession>(engine_.store(), session->topic,
                                                         engine_.config().session);
  metrics_[session->topic].session_opened(session->id, session->remote);
  engine_.counters().sessions_started.fetch_add(1);
  engine_.counters().sessions_running.fetch_add(1);
  (void)session->core->start(now_micros());  // a failure shows up as a Failed event
  if (session->close_on_start) session->core->close();
  asio::co_spawn(engine_.executor(), read_loop(session), asio::detached);
  asio::co_spawn(engine_.executor(), watch(session), asio::detached);
  auto& core = *session->core;
  while (!session->ended) {
    while (auto payload = core.poll_transmit()) {
      session->writing = true;
      auto written = co_await net::write_frame(*session->stream, *payload);
      session->writing = false;
      if (session->finish_after_write) {  // ended gracefully meanwhile (read_loop, watch)
        session->finish_after_write = false;
        if (written) {
          asio::co_spawn(engine_.executor(), session->stream->finish(), asio::detached);
        } else {
          session->stream->abort(kFailed);
        }
        break;
      }
      if (!written) {
        core.handle_closed(Unexpected{written.error()}, now_micros());
        break;
      }
    }
    drain_events(session);
    if (session->ended || core.finished()) break;
    auto deadline = core.next_deadline();
    co_await session->wake.wait_until(deadline ? from_micros(*deadline) : Clock::time_point::max());
    if (deadline && now_micros() >= *deadline) core.handle_timeout(now_micros());
  }
  drain_events(session);
  if (!session->ended) end(*session, std::nullopt);
}

net::Awaitable<void> SyncManager::read_loop(std::shared_ptr<Session> session) {
  const auto limit = engine_.config().session.max_message;
  while (!session->ended) {
    while (session->ingesting >= kMaxIngesting && !session->ended) {
      co_await session->wake.wait_until(Clock::time_point::max());
    }
    if (session->ended) break;
    auto frame = co_await net::read_frame(*session->stream, limit);
    if (session->ended) break;
    if (!frame) {
      session->core->handle_closed(Unexpected{frame.error()}, now_micros());
    } else if (!*frame) {
      session->core->handle_closed(Result<void>{}, now_micros());
    } else {
      session->core->handle_message(**frame, now_micros());
    }
    // Handled here, not only between run()'s writes: while the peer does not read, run() waits
    // in a write, and what arrived would pile up in the core, not stored, not counted against
    // kMaxIngesting.
    drain_events(session);
    session->wake.notify_all();
    if (!frame || !*frame) break;
  }
}

// The session's deadline (its sync timeout), also while run() waits in a write, and whatever the
// core reports meanwhile (a live session lagging behind, say).
net::Awaitable<void> SyncManager::watch(std::shared_ptr<Session> session) {
  while (!session->ended) {
    auto deadline = session->core->next_deadline();
    co_await session->wake.wait_until(deadline ? from_micros(*deadline) : Clock::time_point::max());
    if (session->ended) break;
    if (deadline && now_micros() >= *deadline) session->core->handle_timeout(now_micros());
    drain_events(session);
  }
}

void SyncManager::drain_events(const std::shared_ptr<Session>& held) {
  Session& session = *held;
  while (!session.ended) {
    auto event = session.core->poll_event();
    if (!event) return;
    std::visit(
        Overloaded{
            [&](sync::MetricsExchanged& exchanged) {
              auto started = metrics_[session.topic].started(session.id, exchanged);
              engine_.broadcast(session.topic,
                                SyncStarted{started.remote, started.session_id,
                                            started.incoming_operations,
                                            started.outgoing_operations, started.incoming_bytes,
                                            started.outgoing_bytes, started.topic_sessions});
            },
            [&](sync::OperationReceived& received) {
              engine_.counters().received.fetch_add(1);
              const Source source =
                  FromSyncSession{session.remote, session.id, phase_of(received.phase)};
              ++session.ingesting;
              // The session stays alive while its operations are in the queue (the map may
              // drop it meanwhile).
              engine_.receive_queued(
                  session.topic, std::move(received.operation), source,
                  [this, held](detail::NodeEngine::Absorbed absorbed,
                               const Operation& operation) {
                    --held->ingesting;
                    held->wake.notify_all();
                    if (absorbed == detail::NodeEngine::Absorbed::Stored) {
                      publish(held->topic, operation, held.get());
                    }
                    if (held->ingesting == 0 && held->ended_event) {
                      engine_.broadcast(held->topic, *held->ended_event);
                      held->ended_event.reset();
                    }
                  });
            },
            [&](sync::SessionFinished&) { end(session, std::nullopt); },
            [&](sync::Failed& failed) { end(session, failed.error); },
            [&](auto&) {},
        },
        *event);
  }
}

void SyncManager::end(Session& session, std::optional<Error> error) {
  if (session.ended) return;
  session.ended = true;
  if (session.core) {
    auto metrics = session.core->metrics();
    auto ended = metrics_[session.topic].ended(session.id, metrics, error);
    engine_.counters().sessions_running.fetch_sub(1);
    engine_.counters().bytes_sent.fetch_add(metrics.sent_bytes);
    engine_.counters().bytes_received.fetch_add(metrics.received_bytes);
    SyncEnded event{ended.remote, ended.session_id, metrics.sent_operations,
                     metrics.received_operations, metrics.sent_bytes, metrics.received_bytes,
                     ended.sent_bytes_topic_total, ended.received_bytes_topic_total, ended.error};
    if (session.ingesting == 0) {
      engine_.broadcast(session.topic, event);
    } else {
      session.ended_event = std::move(event);
    }
  }
  // A session dropped during its handshake (close_on_start) that fails before it starts was
  // given up on anyway: not a failure, no backoff, nothing to tell.
  // Nor is one replaced before it started (the loser of a simultaneous dial: the peer's session
  // serves the slot), or the node shutting down: counting them made the figure rise whenever two
  // nodes met at once.
  const bool not_started = !session.core;
  const bool failed = error && !(not_started && (session.close_on_start || session.superseded)) &&
                      error->code() != Errc::NodeShutDown;
  if (failed) engine_.counters().sessions_failed.fetch_add(1);
  // Failed before it started: no SyncEnded tells anyone, so the system events do.
  if (not_started && failed && session.topic_known) {
    const auto wait = backoff_.failed({session.remote, session.topic}, Clock::now());
    engine_.emit_system(SyncSessionFailed{
        session.topic, session.remote, *error,
        std::chrono::duration_cast<std::chrono::milliseconds>(wait)});
  }
  if (session.stream) {
    if (error) {
      session.stream->abort(kFailed);
    } else if (session.writing) {
      session.finish_after_write = true;  // run() finishes it once the frame is out
    } else {
      asio::co_spawn(engine_.executor(), session.stream->finish(), asio::detached);
    }
  }
  auto found = sessions_.find({session.remote, session.topic});
  if (found != sessions_.end() && found->second.get() == &session) sessions_.erase(found);
  session.wake.notify_all();
}

void SyncManager::publish(const Topic& topic, const Operation& operation, const Session* from) {
  for (auto& [key, session] : sessions_) {
    if (key.second != topic || session.get() == from || !session->core || session->ended) continue;
    session->core->publish(operation);
    session->wake.notify_all();
  }
}

void SyncManager::close_topic(const Topic& topic) {
  for (auto& [key, session] : sessions_) {
    if (key.second != topic || !session->core) continue;
    session->core->close();
    session->wake.notify_all();
  }
}

void SyncManager::shutdown() {
  stopped_ = true;
  retry_.notify_all();
  auto sessions = sessions_;  // end() erases
  for (auto& [key, session] : sessions) end(*session, Error(Errc::NodeShutDown, "node shut down"));
}

}  // namespace p2panda::node

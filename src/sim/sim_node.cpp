#include "sim/sim_node.hpp"

#include "sync/messages.hpp"

namespace p2panda::sim {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

SimNode::SimNode(SimNetwork& network, PeersFor peers_for, SimNodeConfig config)
    : network_(network),
      peers_for_(std::move(peers_for)),
      config_(config),
      key_(PrivateKey::generate()),
      store_(std::move(*store::SqliteStore::open())) {
  index_ = network_.add_node(NodeHandler{
      [this](ConnectionId c, NodeIndex remote) { on_accept(c, remote); },
      [this](ConnectionId c, Bytes message) { on_message(c, std::move(message)); },
      [this](ConnectionId c, Result<void> reason) { on_closed(c, std::move(reason)); }});
  network_.set_identity(index_, key_.public_key());
}

void SimNode::follow(const Topic& topic) {
  topics_.insert(topic);
  connect_all();
  if (!maintenance_started_) {
    maintenance_started_ = true;
    maintain();
  }
}

void SimNode::maintain() {
  // Like p2panda's retry of failed sessions: every retry_after, open the sessions that are
  // missing (after a partition, a crash of the peer, a refused connection).
  network_.schedule_after(config_.retry_after, [this] {
    connect_all();
    maintain();
  });
}

bool SimNode::has_session(NodeIndex remote, const Topic& topic) const {
  for (const auto& [id, session] : sessions_) {
    if (session.remote == remote && session.topic == topic) return true;
  }
  return false;
}

void SimNode::connect_all() {
  for (const Topic& topic : topics_) {
    for (NodeIndex peer : peers_for_(index_, topic)) {
      // One session per pair and topic: the lower index initiates (p2panda runs two concurrent
      // sessions per pair when both initiate; one is enough and halves the traffic).
      if (peer == index_ || peer < index_ || has_session(peer, topic)) continue;
      auto connection = network_.connect(index_, peer);
      if (!connection) continue;  // unreachable: the retry timer tries again
      Session session{*connection, peer, network_.identity(peer), true, topic};
      sessions_.emplace(*connection, std::move(session));
      arm_handshake_timer(*connection);
      network_.send(*connection, index_,
                    sync::encode_topic_handshake(sync::HandshakeTopic{topic}));
    }
  }
}

void SimNode::on_accept(ConnectionId connection, NodeIndex remote) {
  // The topic arrives with the first message.
  sessions_.emplace(connection, Session{connection, remote, network_.identity(remote), false, Topic{}});
  arm_handshake_timer(connection);
}

void SimNode::arm_handshake_timer(ConnectionId connection) {
  // A peer that opens a connection and then stalls the handshake must not hold it forever.
  network_.schedule_after(config_.session.sync_timeout, [this, connection] {
    auto found = sessions_.find(connection);
    if (found == sessions_.end() || found->second.handshaken) return;
    end(connection, Error(Errc::SyncTimeout, "topic handshake did not finish"));
  });
}

void SimNode::on_message(ConnectionId connection, Bytes message) {
  auto found = sessions_.find(connection);
  if (found == sessions_.end()) return;
  Session& session = found->second;
  if (!session.handshaken) return on_handshake(session, std::move(message));
  session.core->handle_message(message, network_.now());
  drain_events(session);
  pump(connection);
}

void SimNode::on_handshake(Session& session, Bytes message) {
  auto decoded = sync::decode_topic_handshake(message);
  if (!decoded) return end(session.connection, std::move(decoded).error());
  if (auto* topic = std::get_if<sync::HandshakeTopic>(&*decoded)) {
    if (session.initiator || !topics_.count(topic->topic)) {
      // Not a topic we follow: refuse without saying anything else.
      ++stats_.handshakes_rejected;
      return end(session.connection, Error(Errc::HandshakeRejected, "topic not followed"));
    }
    session.topic = topic->topic;
    network_.send(session.connection, index_, sync::encode_topic_handshake(sync::HandshakeDone{}));
    return;
  }
  // Done: the initiator answers the acceptor's Done with its own, then both sync.
  if (session.initiator) {
    network_.send(session.connection, index_, sync::encode_topic_handshake(sync::HandshakeDone{}));
  }
  begin_sync(session);
}

void SimNode::begin_sync(Session& session) {
  session.handshaken = true;
  session.id = next_session_++;
  session.core = std::make_unique<sync::LogSyncSession>(*store_, session.topic, config_.session);
  metrics_[session.topic].session_opened(session.id, session.remote_id);
  ++stats_.sessions_started;
  (void)session.core->start(network_.now());
  drain_events(session);
  pump(session.connection);
}

void SimNode::pump(ConnectionId connection) {
  auto found = sessions_.find(connection);
  if (found == sessions_.end() || !found->second.core) return;
  Session& session = found->second;
  while (auto payload = session.core->poll_transmit()) {
    network_.send(connection, index_, std::move(*payload));
  }
  drain_events(session);
  if (sessions_.count(connection)) arm_timer(connection);
}

void SimNode::arm_timer(ConnectionId connection) {
  auto& session = sessions_.at(connection);
  if (auto deadline = session.core->next_deadline()) {
    network_.schedule(*deadline, [this, connection] {
      auto found = sessions_.find(connection);
      if (found == sessions_.end() || !found->second.core) return;
      found->second.core->handle_timeout(network_.now());
      drain_events(found->second);
    });
  }
}

void SimNode::drain_events(Session& session) {
  const ConnectionId connection = session.connection;
  while (auto event = session.core->poll_event()) {
    std::optional<std::optional<Error>> ended;
    std::visit(Overloaded{
                   [&](sync::MetricsExchanged& exchanged) {
                     stats_.started.push_back(metrics_[session.topic].started(session.id, exchanged));
                   },
                   [&](sync::OperationReceived& received) {
                     on_received(session, std::move(received.operation));
                   },
                   [&](sync::SessionFinished&) { ended.emplace(std::nullopt); },
                   [&](sync::Failed& failed) { ended.emplace(failed.error); },
                   [&](auto&) {},
               },
               *event);
    if (ended) return end(connection, std::move(*ended));
  }
}

void SimNode::on_received(Session& session, Operation operation) {
  ++stats_.received;
  auto result = store_->transact([&](store::StoreWriter& writer) {
    return stream::check_and_ingest(writer, operation, session.topic, config_.ingest);
  });
  if (!result || std::holds_alternative<stream::Rejected>(result->outcome)) {
    ++stats_.rejected;
    if (stats_.rejections.size() < 16) {
      stats_.rejections.push_back(result ? std::get<stream::Rejected>(result->outcome).reason
                                         : result.error());
    }
    return;
  }
  if (std::holds_alternative<stream::AlreadyExists>(result->outcome) ||
      std::holds_alternative<stream::Obsolete>(result->outcome)) {
    return;
  }
  ++stats_.ingested;
  // Validated and stored: now, and only now, offer it to the topic's other sessions.
  for (auto& [id, other] : sessions_) {
    if (id == session.connection || other.topic != session.topic || !other.core) continue;
    other.core->publish(operation);
    ++stats_.forwarded;
    network_.schedule(network_.now(), [this, id = id] { pump(id); });
  }
}

Result<Operation> SimNode::publish(const Topic& topic, Bytes body, bool prune) {
  if (!topics_.count(topic)) return fail(Errc::InvalidArgument, "publish to a topic not followed");
  const LogId log = LogId::from_topic(topic);
  auto latest = store_->query([&](store::StoreReader& reader) {
    return reader.latest_entry(key_.public_key(), log);
  });
  if (!latest) return Unexpected{std::move(latest).error()};
  const Operation operation = create_node_operation(
      key_, {.topic = topic,
             .seq_num = SeqNum(*latest ? (*latest)->seq_num().value() + 1 : 0),
             .backlink = *latest ? std::optional<Hash>((*latest)->id()) : std::nullopt,
             .timestamp = Timestamp(network_.now()),
             .prune = prune,
             .body = Body(std::move(body))});
  auto result = store_->transact([&](store::StoreWriter& writer) {
    return stream::check_and_ingest(writer, operation, topic, config_.ingest);
  });
  if (!result) return Unexpected{std::move(result).error()};
  if (auto* rejected = std::get_if<stream::Rejected>(&result->outcome)) {
    return Unexpected{rejected->reason};
  }
  for (auto& [id, session] : sessions_) {
    if (session.topic != topic || !session.core) continue;
    session.core->publish(operation);
    pump(id);
  }
  return operation;
}

void SimNode::on_closed(ConnectionId connection, Result<void> reason) {
  auto found = sessions_.find(connection);
  if (found == sessions_.end()) return;
  if (!found->second.core) {
    return end(connection, reason ? std::optional<Error>{} : std::optional<Error>{reason.error()});
  }
  found->second.core->handle_closed(std::move(reason), network_.now());
  drain_events(found->second);
}

void SimNode::end(ConnectionId connection, std::optional<Error> error) {
  auto found = sessions_.find(connection);
  if (found == sessions_.end()) return;
  Session session = std::move(found->second);
  sessions_.erase(found);
  if (session.core) {
    if (auto payload = session.core->poll_transmit()) network_.send(connection, index_, std::move(*payload));
    stats_.ended.push_back(
        metrics_[session.topic].ended(session.id, session.core->metrics(), error));
  }
  if (error) ++stats_.sessions_failed;
  if (error && !session.core && error->code() != Errc::HandshakeRejected) ++stats_.handshakes_failed;
  network_.close(connection, index_);
}

std::size_t SimNode::live_sessions() const {
  std::size_t live = 0;
  for (const auto& [id, session] : sessions_) {
    if (session.core && session.core->phase() == sync::Phase::Live) ++live;
  }
  return live;
}

bool SimNode::idle() const {
  for (const auto& [id, session] : sessions_) {
    if (!session.core || session.core->phase() != sync::Phase::Live) return false;
  }
  return true;
}

}  // namespace p2panda::sim

#include "node/gossip_driver.hpp"

#include <deque>

#include "net/interfaces.hpp"
#include "node/gossip_addr.hpp"
#include "node/gossip_driver_state.hpp"

namespace p2panda::node {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

GossipDriver::GossipDriver(net::Transport& transport, Bytes alpn, gossip::TopicConfig config,
                           std::uint64_t seed, GossipCallbacks callbacks)
    : GossipDriver(transport, std::move(alpn), gossip::Mode::V101, config, seed,
                   std::move(callbacks)) {}

GossipDriver::GossipDriver(net::Transport& transport, Bytes alpn, gossip::Mode mode,
                           gossip::TopicConfig config, std::uint64_t seed,
                           GossipCallbacks callbacks)
    : transport_(transport),
      alpn_(std::move(alpn)),
      mode_(mode),
      config_(config),
      seed_(seed),
      callbacks_(std::move(callbacks)) {}

GossipDriver::~GossipDriver() = default;

void GossipDriver::start() {
  transport_.register_protocol(alpn_, [this](net::ConnectionHandle connection) {
    adopt(connection);
    if (mode_ == gossip::Mode::V035) return accept_v035(std::move(connection));
    return serve(std::move(connection));
  });
}

Bytes GossipDriver::own_peer_data() const {
  // A wildcard bind shares the interfaces' addresses: peers cannot dial 0.0.0.0.
  return encode_addr_info(
      GossipAddrInfo{std::nullopt, net::reachable_addresses(transport_.local_addresses())});
}

void GossipDriver::addresses_changed() {
  const Bytes data = own_peer_data();
  for (auto& [topic, entry] : topics_) entry->state->update_peer_data(data);
}

void GossipDriver::join(const Topic& topic, const std::vector<NodeId>& peers) {
  if (stopped_ || topics_.contains(topic)) return;
  auto entry = std::make_shared<TopicEntry>();
  // Each topic gets its own generator stream; the seed keeps simulated runs repeatable.
  entry->state = std::make_unique<gossip::TopicState>(transport_.node_id(), own_peer_data(),
                                                      config_, seed_ + topics_.size());
  topics_[topic] = entry;
  asio::co_spawn(transport_.executor(), tick(topic, entry), asio::detached);
  std::vector<NodeId> bootstrap;
  for (const auto& peer : peers) {
    if (peer != transport_.node_id()) bootstrap.push_back(peer);
  }
  apply(topic, entry->state->join(bootstrap, now_micros()));
}

void GossipDriver::add_peer(const net::PeerAddress& peer) {
  if (stopped_ || peer.node_id == transport_.node_id()) return;
  auto& known = book_[peer.node_id];
  known.node_id = peer.node_id;
  for (const auto& address : peer.addresses) {
    if (std::find(known.addresses.begin(), known.addresses.end(), address) ==
        known.addresses.end()) {
      known.addresses.push_back(address);
    }
  }
  // Like p2panda's healer: a newly known peer is offered to every topic's membership. A peer
  // already active ignores the Join; one we never met makes us a neighbour.
  for (auto& [topic, entry] : topics_) {
    const std::vector<NodeId> one{peer.node_id};
    auto outputs = entry->state->join(one, now_micros());
    apply(topic, std::move(outputs));
  }
}

void GossipDriver::offer(const Topic& topic, const NodeId& peer) {
  auto found = topics_.find(topic);
  if (stopped_ || found == topics_.end() || peer == transport_.node_id()) return;
  auto entry = found->second;
  const auto& active = entry->state->active_view();
  if (std::find(active.begin(), active.end(), peer) != active.end()) return;
  const std::vector<NodeId> one{peer};
  auto outputs = entry->state->join(one, now_micros());
  apply(topic, std::move(outputs));
}

Result<void> GossipDriver::broadcast(const Topic& topic, Bytes content) {
  auto found = topics_.find(topic);
  if (found == topics_.end()) return fail(Errc::InvalidArgument, "gossip topic not joined");
  auto outputs =
      found->second->state->broadcast(std::move(content), gossip::Scope::Swarm, now_micros());
  if (!outputs) return Unexpected{std::move(outputs).error()};
  apply(topic, std::move(*outputs));
  return {};
}

std::vector<NodeId> GossipDriver::neighbors(const Topic& topic) const {
  auto found = topics_.find(topic);
  if (found == topics_.end()) return {};
  return found->second->state->active_view();
}

void GossipDriver::apply(const Topic& topic, std::vector<gossip::Output> outputs) {
  auto found = topics_.find(topic);
  if (found == topics_.end()) return;
  auto entry = found->second;  // a callback may not erase it, but keep it alive regardless
  for (auto& output : outputs) {
    std::visit(Overloaded{
                   [&](gossip::SendMessage& send_message) {
                     send(topic, send_message.to, send_message.message);
                   },
                   [&](gossip::DisconnectPeer& disconnect) {
                     if (mode_ == gossip::Mode::V035) {
                       disconnect_v035(topic, disconnect.peer);
                       return;
                     }
                     auto out = entry->out.find(disconnect.peer);
                     if (out == entry->out.end()) return;
                     out->second->closed = true;
                     out->second->wake.notify_all();
                     entry->out.erase(out);
                   },
                   [&](gossip::NeighborUp& up) {
                     if (callbacks_.neighbor) callbacks_.neighbor(topic, up.peer, true);
                   },
                   [&](gossip::NeighborDown& down) {
                     if (callbacks_.neighbor) callbacks_.neighbor(topic, down.peer, false);
                   },
                   [&](gossip::Received& received) {
                     if (callbacks_.received) {
                       callbacks_.received(topic, received.content, received.delivered_from);
                     }
                   },
                   [&](gossip::PeerDataLearned& learned) {
                     auto info = decode_addr_info(learned.data);
                     if (!info || info->direct_addresses.empty()) return;
                     net::PeerAddress peer{learned.peer, info->direct_addresses};
                     auto& known = book_[learned.peer];
                     known = peer;  // the peer's own latest word replaces what we had
                     if (callbacks_.learned) callbacks_.learned(peer);
                   },
               },
               output);
  }
  entry->wake.notify_all();
}

void GossipDriver::send(const Topic& topic, const NodeId& to, const gossip::Message& message) {
  if (mode_ == gossip::Mode::V035) {
    send_v035(topic, to, message);
    return;
  }
  auto entry = topics_.at(topic);
  auto frame = gossip::encode_frame_v101(message, config_.max_message_size);
  if (!frame) return;  // the cores size their messages to fit; nothing else can be done here
  // A copy, not a reference into the map: the writer may drop its entry before we are done.
  std::shared_ptr<Outbox> outbox = entry->out[to];
  const bool fresh = !outbox;
  if (fresh) {
    outbox = std::make_shared<Outbox>();
    entry->out[to] = outbox;
  }
  outbox->frames.push_back(std::move(*frame));
  outbox->wake.notify_all();
  if (fresh) asio::co_spawn(transport_.executor(), write_loop(topic, to, outbox), asio::detached);
}

void GossipDriver::leave(const Topic& topic) {
  auto found = topics_.find(topic);
  if (stopped_ || found == topics_.end()) return;
  auto entry = found->second;
  apply(topic, entry->state->quit(now_micros()));
  for (auto& [peer, outbox] : entry->out) {
    outbox->closed = true;  // flush what is queued (the Disconnects), then finish
    outbox->wake.notify_all();
  }
  entry->out.clear();
  if (mode_ == gossip::Mode::V035) {  // links that carried the topic for peers still in views
    std::vector<NodeId> peers;
    for (const auto& [peer, link] : links_) {
      if (link->topics.contains(topic)) peers.push_back(peer);
    }
    for (const auto& peer : peers) disconnect_v035(topic, peer);
  }
  entry->left = true;
  entry->wake.notify_all();
  topics_.erase(found);
}

net::Awaitable<void> GossipDriver::tick(Topic topic, std::shared_ptr<TopicEntry> entry) {
  while (!stopped_ && !entry->left) {
    auto deadline = entry->state->next_deadline();
    co_await entry->wake.wait_until(deadline ? from_micros(*deadline) : Clock::time_point::max());
    if (stopped_ || entry->left) break;
    auto now = now_micros();
    if (deadline && now >= *deadline) apply(topic, entry->state->handle_timeout(now));
  }
}

net::Awaitable<Result<net::ConnectionHandle>> GossipDriver::connection(NodeId peer) {
  if (stopped_) co_return fail(Errc::NodeShutDown, "gossip stopped");
  auto live = connections_.find(peer);
  if (live != connections_.end() && !live->second.empty()) co_return live->second.back();
  auto known = book_.find(peer);
  net::PeerAddress address = known != book_.end() ? known->second : net::PeerAddress{peer, {}};
  auto connecting = transport_.connect(address, alpn_);
  auto connected = co_await std::move(connecting);
  if (!connected) co_return Unexpected{connected.error()};
  adopt(*connected);
  // In 0.35 the dialer's writer opens the one stream and reads it (write_loop_v035).
  if (mode_ == gossip::Mode::V101) {
    asio::co_spawn(transport_.executor(), serve(*connected), asio::detached);
  }
  co_return *connected;
}

void GossipDriver::adopt(const net::ConnectionHandle& connection) {
  if (stopped_) return;  // shutdown() let go of every connection; keep it that way
  connections_[connection->remote_id()].push_back(connection);
}

// Both ends of a connection open uni streams on it: accept the peer's until the connection is
// gone, then forget it.
net::Awaitable<void> GossipDriver::serve(net::ConnectionHandle connection) {
  for (;;) {
    auto accepting = connection->accept_uni();
    auto stream = co_await std::move(accepting);
    if (!stream || stopped_) break;
    asio::co_spawn(transport_.executor(), read_loop(connection, *stream), asio::detached);
  }
  forget(connection);
}

void GossipDriver::forget(const net::ConnectionHandle& connection) {
  const NodeId remote = connection->remote_id();
  auto found = connections_.find(remote);
  if (found == connections_.end()) return;
  std::erase(found->second, connection);
  if (found->second.empty()) {
    connections_.erase(found);
    if (!stopped_) drop_peer(remote);
  }
}

void GossipDriver::drop_peer(const NodeId& peer) {
  close_link(peer, false);
  for (auto& [topic, entry] : topics_) {
    if (auto out = entry->out.find(peer); out != entry->out.end()) {
      out->second->closed = true;
      out->second->frames.clear();
      out->second->wake.notify_all();
      entry->out.erase(out);
    }
    apply(topic, entry->state->peer_disconnected(peer, now_micros()));
  }
}

net::Awaitable<void> GossipDriver::read_loop(net::ConnectionHandle connection,
                                             net::StreamHandle stream) {
  const NodeId remote = connection->remote_id();
  gossip::StreamReaderV101 reader(config_.max_message_size);
  std::vector<std::uint8_t> buffer(4096);
  for (;;) {
    auto reading = stream->read_some(std::span(buffer));
    auto read = co_await std::move(reading);
    if (!read || *read == 0 || stopped_) co_return;
    reader.push(ByteSpan(buffer.data(), *read));
    for (;;) {
      auto message = reader.next();
      if (!message) {
        stream->abort(kBadStream);  // a peer that breaks the framing loses this stream
        co_return;
      }
      if (!*message) break;
      auto found = topics_.find(*reader.topic());
      if (found == topics_.end()) {
        stream->abort(kNotJoined);
        co_return;
      }
      auto entry = found->second;
      apply(*reader.topic(), entry->state->handle_message(remote, **message, now_micros()));
    }
  }
}

net::Awaitable<void> GossipDriver::write_loop(Topic topic, NodeId peer,
                                              std::shared_ptr<Outbox> outbox) {
  // co_spawn runs us inline when called on our executor: yield first, so that a dial failing at
  // once does not re-enter the core while apply() is still working through its outputs.
  auto yielding = asio::post(transport_.executor(), asio::use_awaitable);
  co_await std::move(yielding);
  Result<void> status;
  auto connecting = connection(peer);
  auto connected = co_await std::move(connecting);
  if (!connected) {
    status = Unexpected{connected.error()};
  } else {
    auto opening = (*connected)->open_uni();
    auto opened = co_await std::move(opening);
    if (!opened) {
      status = Unexpected{opened.error()};
    } else {
      outbox->stream = *opened;
      outbox->frames.push_front(gossip::encode_stream_header(topic));
    }
  }
  while (status) {
    if (outbox->frames.empty()) {
      if (outbox->closed || stopped_) break;
      co_await outbox->wake.wait();
      continue;
    }
    Bytes frame = std::move(outbox->frames.front());
    outbox->frames.pop_front();
    auto writing = outbox->stream->write(frame);
    status = co_await std::move(writing);
  }
  if (status) {
    auto finishing = outbox->stream->finish();
    (void)co_await std::move(finishing);
    co_return;
  }
  if (outbox->stream) outbox->stream->abort(kBadStream);
  // The peer could not be reached or the stream broke: the membership core hears about it.
  auto found = topics_.find(topic);
  if (stopped_ || outbox->closed || found == topics_.end()) co_return;
  auto entry = found->second;
  if (auto out = entry->out.find(peer); out != entry->out.end() && out->second == outbox) {
    entry->out.erase(out);
  }
  apply(topic, entry->state->peer_disconnected(peer, now_micros()));
}

void GossipDriver::shutdown() {
  if (stopped_) return;
  for (auto& [topic, entry] : topics_) apply(topic, entry->state->quit(now_micros()));
  stopped_ = true;
  for (auto& [peer, outbox] : links_) {  // 0.35: flush the Disconnects, then finish
    outbox->closed = true;
    outbox->wake.notify_all();
  }
  links_.clear();
  for (auto& [topic, entry] : topics_) {
    for (auto& [peer, outbox] : entry->out) {
      outbox->closed = true;  // flush the Disconnects, then finish
      outbox->wake.notify_all();
    }
    entry->out.clear();
    entry->wake.notify_all();
  }
  // Connections hold timers of the transport's io_context, which the node destroys before this
  // driver: let go of them now (coroutines still holding one release it as they are torn down).
  connections_.clear();
}

}  // namespace p2panda::node

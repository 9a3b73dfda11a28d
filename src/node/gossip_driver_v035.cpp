// GossipDriver in iroh-gossip 0.35's layout (Mode::V035, docs/gossip.md "Driver"): one
// bidirectional stream per connection, shared by all topics. The dialer opens it and writes first
// (iroh 0.35's acceptor sits in accept_bi until data arrives); the acceptor answers on the same
// stream. Every frame is ProtoMessage{topic, message}. Sources: iroh-gossip v0.35.0 src/net.rs
// (connection_loop) and src/net/util.rs (write_message, read_message).
#include "node/gossip_addr.hpp"
#include "node/gossip_driver_state.hpp"

namespace p2panda::node {

// Code and reason iroh 0.35 closes a dropped peer's connection with (handle_connection_task_finished).
constexpr std::uint64_t kCloseDisconnect = 0;

void GossipDriver::send_v035(const Topic& topic, const NodeId& to, const gossip::Message& message) {
  auto frame = gossip::encode_frame_v035(topic, message, config_.max_message_size);
  if (!frame) return;  // the cores size their messages to fit (max_content_size counts the topic)
  std::shared_ptr<Outbox> outbox = links_[to];
  const bool fresh = !outbox;
  if (fresh) {
    outbox = std::make_shared<Outbox>();
    links_[to] = outbox;
  }
  outbox->topics.insert(topic);
  outbox->frames.push_back(std::move(*frame));
  outbox->wake.notify_all();
  if (fresh) asio::co_spawn(transport_.executor(), write_loop_v035(to, outbox), asio::detached);
}

// A topic is done with the peer; the shared stream ends once no topic uses it (iroh 0.35 drops
// the peer only when its last topic does).
void GossipDriver::disconnect_v035(const Topic& topic, const NodeId& peer) {
  auto link = links_.find(peer);
  if (link == links_.end()) return;
  link->second->topics.erase(topic);
  if (link->second->topics.empty()) close_link(peer, true);
}

// flush: finish after what is queued (a Disconnect); otherwise drop it (the peer is gone).
void GossipDriver::close_link(const NodeId& peer, bool flush) {
  auto link = links_.find(peer);
  if (link == links_.end()) return;
  auto outbox = link->second;
  links_.erase(link);
  outbox->closed = true;
  if (!flush) outbox->frames.clear();
  outbox->wake.notify_all();
}

net::Awaitable<void> GossipDriver::write_loop_v035(NodeId peer, std::shared_ptr<Outbox> outbox) {
  // Not inline in apply() (see write_loop).
  auto yielding = asio::post(transport_.executor(), asio::use_awaitable);
  co_await std::move(yielding);
  Result<void> status;
  // A connection the peer dialed brings its stream with it (accept_v035 hands it over).
  while (!outbox->stream && !outbox->closed && !stopped_ && connections_.contains(peer)) {
    auto waiting = outbox->wake.wait();
    co_await std::move(waiting);
  }
  if (!outbox->stream && !outbox->closed && !stopped_) {
    auto connecting = connection(peer);
    auto connected = co_await std::move(connecting);
    if (!connected) {
      status = Unexpected{connected.error()};
    } else {
      auto opening = (*connected)->open_bi();
      auto opened = co_await std::move(opening);
      if (!opened) {
        status = Unexpected{opened.error()};
      } else {
        outbox->stream = *opened;
        outbox->connection = *connected;
        asio::co_spawn(transport_.executor(), read_loop_v035(*connected, *opened),
                       asio::detached);
      }
    }
  }
  while (status && outbox->stream) {
    if (outbox->frames.empty()) {
      if (outbox->closed || stopped_) break;
      auto waiting = outbox->wake.wait();
      co_await std::move(waiting);
      continue;
    }
    Bytes frame = std::move(outbox->frames.front());
    outbox->frames.pop_front();
    auto writing = outbox->stream->write(frame);
    status = co_await std::move(writing);
  }
  if (status) {
    if (!outbox->stream) co_return;  // closed before there was anything to say
    auto finishing = outbox->stream->finish();
    (void)co_await std::move(finishing);
    // As iroh 0.35 after dropping a peer: the connection goes too, so that a later send dials a
    // fresh one with a fresh stream (the peer accepts one stream per connection).
    if (outbox->connection) outbox->connection->close(kCloseDisconnect, "close from disconnect");
    co_return;
  }
  if (outbox->stream) outbox->stream->abort(kBadStream);
  if (outbox->connection) outbox->connection->close(kBadStream, "gossip stream failed");
  // The peer could not be reached or the stream broke: every topic's membership hears about it.
  auto link = links_.find(peer);
  if (link != links_.end() && link->second == outbox) links_.erase(link);
  if (stopped_ || outbox->closed) co_return;
  for (auto& [topic, entry] : topics_) {
    auto outputs = entry->state->peer_disconnected(peer, now_micros());
    apply(topic, std::move(outputs));
  }
}

// The peer dialed: its one stream carries everything both ways.
net::Awaitable<void> GossipDriver::accept_v035(net::ConnectionHandle connection) {
  auto accepting = connection->accept_bi();
  auto stream = co_await std::move(accepting);
  if (!stream || stopped_) {
    forget(connection);
    co_return;
  }
  const NodeId remote = connection->remote_id();
  std::shared_ptr<Outbox> outbox = links_[remote];
  const bool fresh = !outbox;
  if (fresh) {
    outbox = std::make_shared<Outbox>();
    links_[remote] = outbox;
  }
  if (!outbox->stream) {  // otherwise we dialed too, and keep writing on our own stream
    outbox->stream = *stream;
    outbox->connection = connection;
    outbox->wake.notify_all();  // a writer already waiting for this stream
  }
  // Without a writer yet (send_v035 starts one with a first frame), start one to answer on this
  // stream once the cores have something to say.
  if (fresh) {
    asio::co_spawn(transport_.executor(), write_loop_v035(remote, outbox), asio::detached);
  }
  auto reading = read_loop_v035(connection, *stream);
  co_await std::move(reading);
}

net::Awaitable<void> GossipDriver::read_loop_v035(net::ConnectionHandle connection,
                                                  net::StreamHandle stream) {
  const NodeId remote = connection->remote_id();
  gossip::StreamReaderV035 reader(config_.max_message_size);
  std::vector<std::uint8_t> buffer(4096);
  bool broken = false;
  while (!broken && !stopped_) {
    auto reading = stream->read_some(std::span(buffer));
    auto read = co_await std::move(reading);
    if (!read || *read == 0 || stopped_) break;
    reader.push(ByteSpan(buffer.data(), *read));
    for (;;) {
      auto message = reader.next();
      if (!message) {
        broken = true;  // a peer that breaks the framing loses the connection
        break;
      }
      if (!*message) break;
      auto found = topics_.find((*message)->topic);
      if (found == topics_.end()) continue;  // a topic we did not join: iroh 0.35 drops it too
      if (auto link = links_.find(remote); link != links_.end()) {
        link->second->topics.insert((*message)->topic);
      }
      auto entry = found->second;
      apply((*message)->topic,
            entry->state->handle_message(remote, (*message)->message, now_micros()));
    }
  }
  // The stream is the peer link: when it ends, the connection is of no further use.
  connection->close(broken ? kBadStream : kCloseDisconnect,
                    broken ? "gossip framing broken" : "gossip stream ended");
  if (auto link = links_.find(remote); link != links_.end() && link->second->stream == stream) {
    close_link(remote, false);
  }
  forget(connection);
}

}  // namespace p2panda::node

#include "net/endpoint_impl.hpp"

#include <algorithm>
#include <future>

#include <gnutls/crypto.h>

#include "core/thread_name.hpp"

namespace p2panda::net {

EndpointImpl::EndpointImpl(EndpointConfig config) : config_(std::move(config)) {}

EndpointImpl::~EndpointImpl() { stop(); }

Result<std::unique_ptr<EndpointImpl>> EndpointImpl::bind(EndpointConfig config) {
  std::unique_ptr<EndpointImpl> impl(new EndpointImpl(std::move(config)));
  auto identity = TlsIdentity::create(impl->config_.key);
  if (!identity) return Unexpected{std::move(identity).error()};
  impl->identity_ = std::move(*identity);
  gnutls_rnd(GNUTLS_RND_KEY, impl->reset_secret_.data(), impl->reset_secret_.size());
  gnutls_rnd(GNUTLS_RND_KEY, impl->token_secret_.data(), impl->token_secret_.size());
  auto v4 = UdpSocket::open(impl->io_, impl->config_.bind_v4, impl->config_.udp);
  if (!v4) return Unexpected{std::move(v4).error()};
  impl->v4_ = std::move(*v4);
  if (impl->config_.bind_v6) {
    auto v6 = UdpSocket::open(impl->io_, *impl->config_.bind_v6, impl->config_.udp);
    if (!v6) return Unexpected{std::move(v6).error()};
    impl->v6_ = std::move(*v6);
  }
  impl->start();
  return impl;
}

void EndpointImpl::start() {
  auto on_datagram = [this](UdpSocket& socket, const SocketAddress& from, ByteSpan datagram) {
    this->on_datagram(socket, from, datagram);
  };
  auto on_batch_end = [this] { flush_touched(); };
  auto on_unreachable = [this](const SocketAddress& to, const std::string& what) {
    unreachable(to, what);
  };
  v4_->start(on_datagram, on_batch_end, on_unreachable);
  if (v6_) v6_->start(on_datagram, on_batch_end, on_unreachable);
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    p2panda::detail::name_this_thread("p2panda-node");
    run_io(io_);
  });
}

// Tear down on the endpoint thread, give woken coroutines one turn to finish, then stop. Frames
// still suspended after that are destroyed with io_.
void EndpointImpl::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    std::vector<std::shared_ptr<ConnectionImpl>> all;
    for (auto& [key, connection] : live_) all.push_back(connection);
    // Peers learn of it at once (one CONNECTION_CLOSE each, not retransmitted): otherwise they
    // keep using a dead connection until their idle timeout, and a node restarted on the same
    // address would not be dialled again until then.
    for (auto& connection : all) connection->shut_down();
    connections_.clear();
    closing_.clear();  // the sockets close now
    live_.clear();
    *live_count_ = 0;
    touched_.clear();
    v4_->close();
    if (v6_) v6_->close();
    work_.reset();
    asio::post(io_, [this] { io_.stop(); });
  });
  thread_.join();
}

void EndpointImpl::terminate_all(const CloseInfo& info) {
  std::vector<std::shared_ptr<ConnectionImpl>> all;
  for (auto& [key, connection] : live_) all.push_back(connection);
  for (auto& connection : all) connection->terminate(info);
  connections_.clear();
  closing_.clear();
  live_.clear();
  *live_count_ = 0;
  touched_.clear();
}

namespace {

// Runs `work` on the endpoint thread and waits for it: the testing hooks are synchronous.
template <class Work>
void run_on(asio::io_context& io, Work work) {
  std::promise<void> done;
  asio::post(io, [&] {
    work();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace

void EndpointImpl::receive_for_testing(const SocketAddress& from, ByteSpan datagram) {
  UdpSocket* socket = from.address().is_v4() ? v4_.get() : v6_.get();
  if (socket == nullptr) return;
  run_on(io_, [&] {
    on_datagram(*socket, from, datagram);
    flush_touched();
  });
}

void EndpointImpl::close_all_for_testing() {
  run_on(io_, [&] {
    terminate_all(CloseInfo{CloseInfo::Kind::Endpoint, 0, "closed for testing"});
  });
}

void EndpointImpl::register_protocol(Bytes alpn, ProtocolHandler handler) {
  std::lock_guard lock(protocols_mutex_);
  protocols_[std::move(alpn)] = std::move(handler);
}

UdpStats EndpointImpl::udp_stats() const {
  UdpStats sum = v4_->stats();
  if (v6_) {
    const UdpStats& v6 = v6_->stats();
    sum.send_calls += v6.send_calls;
    sum.datagrams_sent += v6.datagrams_sent;
    sum.dropped_sends += v6.dropped_sends;
    sum.gso_sends += v6.gso_sends;
    sum.gso_refusals += v6.gso_refusals;
    sum.receive_calls += v6.receive_calls;
    sum.datagrams_received += v6.datagrams_received;
    sum.coalesced_receives += v6.coalesced_receives;
  }
  return sum;
}

bool EndpointImpl::has_protocol(const Bytes& alpn) const {
  std::lock_guard lock(protocols_mutex_);
  return protocols_.contains(alpn);
}

std::vector<Bytes> EndpointImpl::protocols() const {
  std::lock_guard lock(protocols_mutex_);
  std::vector<Bytes> alpns;
  for (const auto& [alpn, handler] : protocols_) alpns.push_back(alpn);
  return alpns;
}

void EndpointImpl::register_cid(const Bytes& cid, std::shared_ptr<ConnectionImpl> connection) {
  connections_[cid] = std::move(connection);
}

void EndpointImpl::unregister_cid(const Bytes& cid) { connections_.erase(cid); }

void EndpointImpl::remove(ConnectionImpl& connection) {
  for (const auto& cid : connection.source_ids()) connections_.erase(cid);
  if (!connection.close_packet().empty()) enter_closing(connection);
  live_.erase(&connection);
  *live_count_ = live_.size();
}

void EndpointImpl::enter_closing(const ConnectionImpl& connection) {
  // RFC 9000 10.2: a server that never completed the handshake has no state to close. Anyone
  // can make us close one (a bad Initial, from a spoofed address too), so it must cost nothing.
  if (connection.is_server_side() && !connection.handshake_done()) return;
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(closing_, [now](const auto& entry) { return entry.second->until <= now; });
  if (closing_.size() >= kMaxClosingIds) return;  // a bound whatever peers do
  // At least 2 s: on loopback three PTOs are a few milliseconds, shorter than the wait before
  // the peer's next packet. At most 10 s: a peer's max_ack_delay could stretch a PTO to 16 s.
  const auto period = std::clamp<std::chrono::nanoseconds>(
      connection.closing_period(), std::chrono::seconds(2), std::chrono::seconds(10));
  auto closing = std::make_shared<Closing>(Closing{connection.close_packet(), connection.socket(),
                                                   connection.remote_address(), now + period});
  for (const auto& cid : connection.source_ids()) closing_[cid] = closing;
}

bool EndpointImpl::answer_closing(const Bytes& cid) {
  auto found = closing_.find(cid);
  if (found == closing_.end()) return false;
  Closing& closing = *found->second;
  if (closing.until <= std::chrono::steady_clock::now()) {
    closing_.erase(found);
    return false;
  }
  // 1st, 2nd, 4th, 8th... packet: enough for a lost close, never an amplifier.
  const std::uint64_t count = ++closing.received;
  if ((count & (count - 1)) == 0) {
    closing.socket->send(closing.remote, ByteSpan(closing.packet));
    ++stats_.closes_resent;
  }
  return true;
}

void EndpointImpl::on_datagram(UdpSocket& socket, const SocketAddress& from, ByteSpan datagram) {
  ++stats_.packets_received;
  stats_.bytes_received += datagram.size();
  // ngtcp2 0.12 asserts on an empty buffer (ngtcp2_pkt_decode_version_cid). UdpSocket never
  // hands one over (for_each_segment skips empty messages), but a zero-length UDP datagram is
  // legal on the wire, so the receive path itself refuses it (found by fuzz_quic_receive).
  if (datagram.empty()) return;
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, datagram.data(), datagram.size(), kCidLength);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(socket, from, vc);
    return;
  }
  if (rv != 0) return;  // not a QUIC packet we can parse
  Bytes cid(vc.dcid, vc.dcid + vc.dcidlen);
  auto it = connections_.find(cid);
  if (it == connections_.end()) {
    if (!answer_closing(cid)) accept(socket, from, datagram);
    return;
  }
  auto connection = it->second;
  connection->on_datagram(from, datagram);
  if (std::find(touched_.begin(), touched_.end(), connection) == touched_.end()) {
    touched_.push_back(std::move(connection));
  }
}

void EndpointImpl::flush_touched() {
  auto touched = std::move(touched_);
  touched_.clear();
  for (auto& connection : touched) connection->flush();
}

void EndpointImpl::on_accepted(std::shared_ptr<ConnectionImpl> connection) {
  ProtocolHandler handler;
  {
    std::lock_guard lock(protocols_mutex_);
    auto it = protocols_.find(connection->alpn());
    if (it != protocols_.end()) handler = it->second;
  }
  if (!handler) return;  // unregistered since the handshake began: refused by on_handshake
  // co_spawn keeps this function object (and so the handler and whatever it captured) alive in
  // the coroutine frame; it also starts the handler from the event loop, not from inside
  // ngtcp2's callback.
  auto run = [handler = std::move(handler),
              connection = std::move(connection)]() -> Awaitable<void> {
    co_await handler(Connection(connection));
  };
  asio::post(io_, [this, run = std::move(run)]() mutable {
    asio::co_spawn(io_, std::move(run), asio::detached);
  });
}

std::size_t EndpointImpl::connections_to(const PublicKey& peer,
                                         const ConnectionImpl* except) const {
  std::size_t count = 0;
  for (const auto& [key, connection] : live_) {
    if (key != except && connection->peer_known() && connection->remote_id() == peer) ++count;
  }
  return count;
}

std::shared_ptr<ConnectionImpl> EndpointImpl::oldest_accepted(const PublicKey& peer,
                                                              const ConnectionImpl* except) const {
  std::shared_ptr<ConnectionImpl> oldest;
  for (const auto& [key, connection] : live_) {
    if (key == except || !connection->is_server_side() || !connection->peer_known() ||
        connection->remote_id() != peer) {
      continue;
    }
    if (!oldest || connection->serial() < oldest->serial()) oldest = connection;
  }
  return oldest;
}

std::shared_ptr<ConnectionImpl> EndpointImpl::reusable(const PublicKey& peer,
                                                       const Bytes& alpn) const {
  // Only our own outgoing connections: on an accepted one the peer runs no handler for us. An
  // established one before one still handshaking (a staggered dial may have several).
  std::shared_ptr<ConnectionImpl> handshaking;
  for (const auto& [key, connection] : live_) {
    if (!connection->is_server() && connection->alive() && connection->remote_id() == peer &&
        connection->alpn() == alpn) {
      if (connection->handshake_done()) return connection;
      if (!handshaking) handshaking = connection;
    }
  }
  return handshaking;
}

std::optional<std::pair<std::uint64_t, std::string>> EndpointImpl::admit(
    const ConnectionImpl& connection) {
  if (!has_protocol(connection.alpn())) {                  // unregistered while the handshake ran
    constexpr std::uint64_t kNoApplicationProtocol = 120;  // TLS alert (RFC 7301)
    return std::pair{NGTCP2_CRYPTO_ERROR | kNoApplicationProtocol,
                     std::string("ALPN no longer registered")};
  }
  const std::size_t limit = config_.transport.max_connections_per_peer;
  if (connections_to(connection.remote_id(), &connection) >= limit) {
    // A peer dialling again while at its limit has usually lost the old connections (a restart,
    // a new network) that we have not timed out yet: its oldest accepted connection makes room.
    // Only when all of them are our own outgoing ones is the new one refused.
    if (auto oldest = oldest_accepted(connection.remote_id(), &connection)) {
      oldest->close_transport(NGTCP2_CONNECTION_REFUSED,
                              "replaced by a newer connection from this peer");
      ++stats_.connections_replaced;
      return std::nullopt;
    }
    ++stats_.connections_refused;
    return std::pair{std::uint64_t{NGTCP2_CONNECTION_REFUSED},
                     "too many connections from this peer (limit " + std::to_string(limit) + ")"};
  }
  return std::nullopt;
}

Awaitable<Result<Connection>> EndpointImpl::connect(SocketAddress address, PublicKey expected,
                                                    Bytes alpn, ConnectOptions options) {
  if (!io_.get_executor().running_in_this_thread()) {
    co_return fail(Errc::InvalidArgument, "connect() must run on the endpoint's executor");
  }
  if (options.reuse) {
    // An established connection, or one still handshaking: concurrent connects share it.
    if (auto existing = reusable(expected, alpn)) co_return co_await await_handshake(existing);
  }
  auto dialled = dial(address, expected, std::move(alpn));
  if (!dialled) co_return Unexpected{std::move(dialled).error()};
  co_return co_await await_handshake(std::move(*dialled));
}

Result<std::shared_ptr<ConnectionImpl>> EndpointImpl::dial(const SocketAddress& address,
                                                           const PublicKey& expected, Bytes alpn) {
  UdpSocket* socket = address.address().is_v4() ? v4_.get() : v6_.get();
  if (socket == nullptr) return fail(Errc::InvalidArgument, "no socket bound for IPv6");
  if (live_.size() >= config_.transport.max_connections) {
    return fail(Errc::TooManyConnections, "endpoint has " + std::to_string(live_.size()) +
                                              " connections (TransportConfig::max_connections)");
  }
  if (connections_to(expected, nullptr) >= config_.transport.max_connections_per_peer) {
    return fail(Errc::TooManyConnections,
                "already " + std::to_string(config_.transport.max_connections_per_peer) +
                    " connections to " + expected.to_hex() +
                    " (TransportConfig::max_connections_per_peer)");
  }
  auto tls = TlsSession::client(identity_, expected, alpn);
  if (!tls) return Unexpected{std::move(tls).error()};
  auto created = ConnectionImpl::client(
      ConnectionImpl::Setup{this, socket, address, config_.transport, std::move(*tls)}, expected,
      std::move(alpn));
  if (!created) return Unexpected{std::move(created).error()};
  auto connection = std::move(*created);
  live_[connection.get()] = connection;
  *live_count_ = live_.size();
  connection->flush();
  return connection;
}

void EndpointImpl::unreachable(const SocketAddress& to, const std::string& what) {
  std::vector<std::shared_ptr<ConnectionImpl>> failed;
  for (const auto& [raw, connection] : live_) {
    if (!connection->is_server() && !connection->handshake_done() &&
        connection->remote_address() == to) {
      failed.push_back(connection);
    }
  }
  for (const auto& connection : failed) {
    connection->terminate(CloseInfo{CloseInfo::Kind::Unreachable, 0, what});
  }
}

Awaitable<Result<Connection>> EndpointImpl::await_handshake(
    std::shared_ptr<ConnectionImpl> connection) {
  while (connection->alive() && !connection->handshake_done()) {
    co_await connection->events().wait();
  }
  if (!connection->alive()) {
    // Shared a dial that lost its race to another address: the winner is the connection.
    if (connection->superseded()) {
      if (auto winner = reusable(connection->remote_id(), connection->alpn())) {
        co_return co_await await_handshake(std::move(winner));
      }
    }
    co_return Unexpected{connection->error()};
  }
  co_return Connection(connection);
}

EndpointStats EndpointImpl::stats_here() const {
  EndpointStats stats = stats_;
  stats.open_connections = live_.size();
  stats.connection_ids = connections_.size();
  stats.closing_ids = closing_.size();
  for (const UdpSocket* socket : {v4_.get(), v6_.get()}) {
    if (socket == nullptr) continue;
    stats.packets_sent += socket->stats().datagrams_sent;
    stats.bytes_sent += socket->stats().bytes_sent;
  }
  return stats;
}

EndpointStats EndpointImpl::stats() {
  if (io_.get_executor().running_in_this_thread()) return stats_here();
  std::promise<EndpointStats> promise;
  auto future = promise.get_future();
  asio::post(io_, [this, &promise] { promise.set_value(stats_here()); });
  return future.get();
}

}  // namespace p2panda::net

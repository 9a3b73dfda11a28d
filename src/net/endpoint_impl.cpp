#include "net/endpoint_impl.hpp"

#include <algorithm>

#include <gnutls/crypto.h>

namespace p2panda::net {

EndpointImpl::EndpointImpl(EndpointConfig config) : config_(std::move(config)) {}

EndpointImpl::~EndpointImpl() { stop(); }

Result<std::unique_ptr<EndpointImpl>> EndpointImpl::bind(EndpointConfig config) {
  std::unique_ptr<EndpointImpl> impl(new EndpointImpl(std::move(config)));
  auto identity = TlsIdentity::create(impl->config_.key);
  if (!identity) return Unexpected{std::move(identity).error()};
  impl->identity_ = std::move(*identity);
  gnutls_rnd(GNUTLS_RND_KEY, impl->reset_secret_.data(), impl->reset_secret_.size());
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
  v4_->start(on_datagram, on_batch_end);
  if (v6_) v6_->start(on_datagram, on_batch_end);
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (...) {
        // A handler threw; asio leaves the io_context usable. Keep serving the other connections.
      }
    }
  });
}

// Tear down on the endpoint thread, give woken coroutines one turn to finish, then stop. Frames
// still suspended after that are destroyed with io_.
void EndpointImpl::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    std::vector<std::shared_ptr<ConnectionImpl>> all;
    for (auto& [cid, connection] : connections_) all.push_back(connection);
    for (auto& connection : all) {
      connection->terminate(CloseInfo{CloseInfo::Kind::Endpoint, 0, "endpoint shut down"});
    }
    connections_.clear();
    touched_.clear();
    v4_->close();
    if (v6_) v6_->close();
    work_.reset();
    asio::post(io_, [this] { io_.stop(); });
  });
  thread_.join();
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

void EndpointImpl::remove(const ConnectionImpl& connection) {
  for (const auto& cid : connection.source_ids()) connections_.erase(cid);
}

void EndpointImpl::on_datagram(UdpSocket& socket, const SocketAddress& from, ByteSpan datagram) {
  ngtcp2_version_cid vc;
  if (ngtcp2_pkt_decode_version_cid(&vc, datagram.data(), datagram.size(), kCidLength) != 0) {
    return;  // not QUIC v1 (version negotiation is not implemented)
  }
  auto it = connections_.find(Bytes(vc.dcid, vc.dcid + vc.dcidlen));
  if (it == connections_.end()) {
    accept(socket, from, datagram);
    return;
  }
  auto connection = it->second;
  connection->on_datagram(from, datagram);
  if (std::find(touched_.begin(), touched_.end(), connection) == touched_.end()) {
    touched_.push_back(std::move(connection));
  }
}

void EndpointImpl::accept(UdpSocket& socket, const SocketAddress& from, ByteSpan datagram) {
  ngtcp2_pkt_hd header;
  if (ngtcp2_accept(&header, datagram.data(), datagram.size()) != 0) return;
  auto tls = TlsSession::server(identity_, protocols());
  if (!tls) return;
  auto connection = ConnectionImpl::server(
      ConnectionImpl::Setup{this, &socket, from, config_.transport, std::move(*tls)}, header);
  if (!connection) return;
  (*connection)->on_datagram(from, datagram);
  touched_.push_back(std::move(*connection));
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

Awaitable<Result<Connection>> EndpointImpl::connect(SocketAddress address, PublicKey expected,
                                                    Bytes alpn) {
  if (!io_.get_executor().running_in_this_thread()) {
    co_return fail(Errc::InvalidArgument, "connect() must run on the endpoint's executor");
  }
  UdpSocket* socket = address.address().is_v4() ? v4_.get() : v6_.get();
  if (socket == nullptr) co_return fail(Errc::InvalidArgument, "no socket bound for IPv6");
  auto tls = TlsSession::client(identity_, expected, alpn);
  if (!tls) co_return Unexpected{std::move(tls).error()};
  auto created = ConnectionImpl::client(
      ConnectionImpl::Setup{this, socket, address, config_.transport, std::move(*tls)});
  if (!created) co_return Unexpected{std::move(created).error()};
  auto connection = std::move(*created);
  connection->flush();
  while (connection->alive() && !connection->handshake_done()) {
    co_await connection->events().wait();
  }
  if (!connection->alive()) co_return Unexpected{connection->error()};
  co_return Connection(connection);
}

}  // namespace p2panda::net

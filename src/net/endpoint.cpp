#include "net/endpoint.hpp"

#include "net/endpoint_impl.hpp"

namespace p2panda::net {

Endpoint::Endpoint(std::unique_ptr<EndpointImpl> impl) : impl_(std::move(impl)) {}
Endpoint::Endpoint(Endpoint&&) noexcept = default;
Endpoint& Endpoint::operator=(Endpoint&&) noexcept = default;
Endpoint::~Endpoint() = default;

Result<Endpoint> Endpoint::bind(EndpointConfig config) {
  auto impl = EndpointImpl::bind(std::move(config));
  if (!impl) return Unexpected{std::move(impl).error()};
  return Endpoint(std::move(*impl));
}

const PublicKey& Endpoint::node_id() const { return impl_->node_id(); }

SocketAddress Endpoint::local_address() const { return impl_->socket_v4().local(); }

std::optional<SocketAddress> Endpoint::local_address_v6() const {
  if (impl_->socket_v6() == nullptr) return std::nullopt;
  return impl_->socket_v6()->local();
}

asio::any_io_executor Endpoint::executor() const { return impl_->io().get_executor(); }

UdpStats Endpoint::udp_stats() const { return impl_->udp_stats(); }

std::shared_ptr<const std::atomic<std::size_t>> Endpoint::connection_count() const {
  return impl_->connection_count();
}

void Endpoint::register_protocol(ByteSpan alpn, ProtocolHandler handler) {
  impl_->register_protocol(Bytes(alpn.begin(), alpn.end()), std::move(handler));
}

Awaitable<Result<Connection>> Endpoint::connect(SocketAddress address, PublicKey expected,
                                                Bytes alpn, ConnectOptions options) {
  return impl_->connect(address, expected, std::move(alpn), options);
}

Awaitable<Result<Connection>> Endpoint::connect_any(std::vector<SocketAddress> addresses,
                                                    PublicKey expected, Bytes alpn) {
  return impl_->connect_any(std::move(addresses), expected, std::move(alpn));
}

EndpointStats Endpoint::stats() const { return impl_->stats(); }

}  // namespace p2panda::net

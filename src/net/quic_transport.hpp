// QuicTransport: net::Transport over the QUIC endpoint (endpoint.hpp). It owns its Endpoint and
// wraps Connection and Stream handles in the Transport interfaces, so protocol code written for
// Transport runs unchanged over QUIC or the simulated network (sim_transport.hpp).
//
// Threading: as Endpoint. node_id(), executor(), local_addresses() and register_protocol() from any
// thread; connect() and everything on its connections and streams REQUIRE running on executor().
// Destroy it off the endpoint thread.
#pragma once

#include <memory>

#include "net/endpoint.hpp"
#include "net/transport.hpp"

namespace p2panda::net {

class QuicTransport final : public Transport {
 public:
  // Binds an endpoint. Errors: as Endpoint::bind().
  static Result<std::shared_ptr<QuicTransport>> bind(EndpointConfig config);
  explicit QuicTransport(Endpoint endpoint);

  const PublicKey& node_id() const override { return endpoint_.node_id(); }
  asio::any_io_executor executor() const override { return endpoint_.executor(); }
  std::vector<SocketAddress> local_addresses() const override;
  void register_protocol(ByteSpan alpn, TransportHandler handler) override;
  // Dials peer.addresses staggered (Endpoint::connect_any: the next address when the previous
  // has not answered within TransportConfig::dial_stagger) and returns the first connection
  // whose handshake completes. Errors: InvalidArgument when there are no addresses; otherwise
  // the error of the attempt that failed last (TlsRefused for a wrong node id or a refused ALPN,
  // TimedOut for a handshake timeout, Unreachable for a closed port).
  Awaitable<Result<ConnectionHandle>> connect(PeerAddress peer, Bytes alpn) override;

  std::shared_ptr<const std::atomic<std::size_t>> connection_count() const override {
    return endpoint_.connection_count();
  }

  Endpoint& endpoint() { return endpoint_; }

 private:
  Endpoint endpoint_;
};

}  // namespace p2panda::net

// Endpoint: this node's QUIC endpoint. It binds UDP sockets, authenticates every connection with
// the node's Ed25519 key (TLS 1.3, raw public keys both ways), dials peers and routes accepted
// connections to the handler registered for their ALPN. See docs/net.md.
//
// Threading: each Endpoint runs one thread with its own io_context; all connection and stream
// state lives there. connect() and everything on Connection and Stream REQUIRE running on
// executor() (co_spawn onto it). bind(), register_protocol() and the destructor may be called
// from any other thread. Destroying the endpoint is abrupt: peers are not told and notice via
// their idle timeout; handles that outlive it only report errors.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include <p2panda/encoding.hpp>
#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>

#include "net/asio.hpp"
#include "net/config.hpp"
#include "net/connection.hpp"

namespace p2panda::net {

class EndpointImpl;

class Endpoint {
 public:
  // Binds the sockets and starts the endpoint thread. Errors: Io when binding fails or GnuTLS
  // refuses the key.
  static Result<Endpoint> bind(EndpointConfig config);

  Endpoint(Endpoint&&) noexcept;
  Endpoint& operator=(Endpoint&&) noexcept;
  ~Endpoint();

  const PublicKey& node_id() const;
  SocketAddress local_address() const;
  std::optional<SocketAddress> local_address_v6() const;
  asio::any_io_executor executor() const;
  // Datagram and system-call counts of this endpoint's sockets, summed.
  // REQUIRES: called on executor() (the counters are not atomic).
  UdpStats udp_stats() const;
  // Live connections (handshaking ones included), as a counter any thread may read without
  // waiting, and keep after the endpoint is gone (it then reads 0).
  std::shared_ptr<const std::atomic<std::size_t>> connection_count() const;

  // Accept connections whose ALPN is `alpn` and hand each to `handler` (run as its own coroutine
  // on executor()). Registering an ALPN again replaces its handler. Connections asking for an
  // unregistered ALPN are refused during the handshake.
  void register_protocol(ByteSpan alpn, ProtocolHandler handler);

  // Dials `address` and completes the handshake. With options.reuse (the default) an outgoing
  // connection to the same `expected` node id and ALPN that is established or still
  // handshaking is returned instead (concurrent connects share one handshake; `address` is not
  // compared). Errors: TlsRefused when the peer presents another key than `expected`, or refuses
  // the ALPN or our key; TimedOut when the handshake does not finish within
  // TransportConfig::handshake_timeout; TooManyConnections at max_connections_per_peer or
  // max_connections; InvalidArgument for an empty or too long ALPN, an address family we did
  // not bind, or the wrong thread; ConnectionClosed when the peer closes it during the handshake.
  Awaitable<Result<Connection>> connect(SocketAddress address, PublicKey expected, Bytes alpn,
                                        ConnectOptions options = {});

  // Dials one peer at several addresses: the first address at once, each next one when the
  // previous has had TransportConfig::dial_stagger to complete its handshake (or failed), and
  // returns the first connection whose handshake completes. The other attempts are closed;
  // callers that shared one of them (reuse) get the winner. An established or handshaking
  // outgoing connection to `expected` with `alpn` is returned instead, as connect() does.
  // Errors: as connect(), of the attempt that failed last; InvalidArgument for no addresses.
  Awaitable<Result<Connection>> connect_any(std::vector<SocketAddress> addresses,
                                            PublicKey expected, Bytes alpn);

  // Counters and sizes (open connections, connection ids, packets and bytes). Any thread; from
  // outside the endpoint thread it waits for that thread to answer.
  EndpointStats stats() const;

 private:
  explicit Endpoint(std::unique_ptr<EndpointImpl> impl);
  std::unique_ptr<EndpointImpl> impl_;
};

}  // namespace p2panda::net

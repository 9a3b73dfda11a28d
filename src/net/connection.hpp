// Connection: an application's handle on one authenticated QUIC connection to a peer.
//
// remote_id() is the peer's verified Ed25519 node id, alpn() the protocol the handshake agreed on.
// Copyable handle; the connection lives while its endpoint has it open or a handle exists. Every
// awaitable REQUIRES running on the endpoint's executor (otherwise InvalidArgument). Once the
// connection is gone every pending and later operation fails; the code says why (docs/net.md
// "Errors"): ConnectionClosed (closed by either side, endpoint shut down), ConnectionLost (idle
// timeout), TimedOut (handshake), TlsRefused, Io (protocol error). close_info() has the detail.
//
// Endpoint::connect() may hand the same connection to several callers (ConnectOptions::reuse):
// close() then closes it for all of them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <p2panda/encoding.hpp>
#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>

#include "net/asio.hpp"
#include "net/config.hpp"
#include "net/stream.hpp"

namespace p2panda::net {

class ConnectionImpl;

class Connection {
 public:
  explicit Connection(std::shared_ptr<ConnectionImpl> impl);

  const PublicKey& remote_id() const;
  const Bytes& alpn() const;
  SocketAddress remote_address() const;

  // Opens a bidirectional stream, waiting while the peer's stream limit is reached. The peer
  // sees the stream when the first byte (or FIN) arrives.
  Awaitable<Result<Stream>> open_bi();
  // The next bidirectional stream the peer opened.
  Awaitable<Result<Stream>> accept_bi();
  // Opens a send-only stream (reads on it fail with InvalidArgument), waiting while the peer's
  // unidirectional stream limit (its TransportConfig::max_uni_streams) is reached.
  Awaitable<Result<Stream>> open_uni();
  // The next unidirectional stream the peer opened: receive-only (writes fail, InvalidArgument).
  Awaitable<Result<Stream>> accept_uni();
  // Sends CONNECTION_CLOSE with an application code and reason; pending operations fail at once.
  // Queued but unacknowledged stream data is discarded. No-op when already closed.
  // REQUIRES: called on the endpoint's executor.
  void close(std::uint64_t code, std::string_view reason);
  // Completes when the connection is gone, saying how it ended.
  Awaitable<CloseInfo> closed();
  std::optional<CloseInfo> close_info() const;

  // Handles are equal when they refer to the same connection (as reuse hands out).
  bool operator==(const Connection& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<ConnectionImpl> impl_;
};

using ProtocolHandler = std::function<Awaitable<void>(Connection)>;

}  // namespace p2panda::net

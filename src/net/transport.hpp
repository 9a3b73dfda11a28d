// Transport: what protocol and node code needs from a network, and nothing more. Two
// implementations share it: QuicTransport (the QUIC endpoint, quic_transport.hpp) and SimTransport
// (in memory, with seeded delay, loss and partitions, sim_transport.hpp), so that code written
// against these interfaces never knows which one it runs on.
//
// The model is QUIC's: authenticated connections to a node id, one per (peer, ALPN) as the
// transport sees fit, each carrying independent ordered byte streams with flow control. Errors
// are Result values, never exceptions.
//
// Threading: every object belongs to its transport's executor(); all awaitables and calls other
// than the constructors REQUIRE running there.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <p2panda/encoding.hpp>
#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>

#include "net/asio.hpp"
#include "net/config.hpp"

namespace p2panda::net {

// Where a peer can be reached. Each transport uses what it understands: QUIC dials the socket
// addresses in order, the simulated network needs only the node id.
struct PeerAddress {
  PublicKey node_id;
  std::vector<SocketAddress> addresses;
};

// One ordered byte stream (QUIC: a bidirectional stream, or one direction of a unidirectional
// one: send-only where it was opened, receive-only at the peer, and the other direction's calls
// fail with InvalidArgument). Reads return 0 at the peer's end of
// stream; writes wait while the peer's receive window and our send buffer are full
// (backpressure). Errors: the connection's close error once it is gone; StreamReset (or Io on
// transports that cannot tell) when the peer aborted the stream.
class TransportStream {
 public:
  virtual ~TransportStream() = default;
  virtual Awaitable<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) = 0;
  virtual Awaitable<Result<void>> write(ByteSpan data) = 0;
  // Ends our sending side after everything queued.
  virtual Awaitable<Result<void>> finish() = 0;
  // Aborts both directions with an application code; the peer's pending reads and writes fail.
  virtual void abort(std::uint64_t code) = 0;
};

using StreamHandle = std::shared_ptr<TransportStream>;

// An authenticated connection to one peer for one protocol.
class TransportConnection {
 public:
  virtual ~TransportConnection() = default;
  // The peer's node id, as the handshake proved it.
  virtual const PublicKey& remote_id() const = 0;
  virtual const Bytes& alpn() const = 0;
  virtual Awaitable<Result<StreamHandle>> open_bi() = 0;
  // The next stream the peer opened; an error once the connection is gone.
  virtual Awaitable<Result<StreamHandle>> accept_bi() = 0;
  // A send-only stream (iroh-gossip 0.101 opens one per topic and direction), and the next one
  // the peer opened (receive-only). Unidirectional and bidirectional streams are counted and
  // accepted separately, as in QUIC.
  virtual Awaitable<Result<StreamHandle>> open_uni() = 0;
  virtual Awaitable<Result<StreamHandle>> accept_uni() = 0;
  // Graceful close with an application code and reason; no-op when already closed.
  virtual void close(std::uint64_t code, std::string_view reason) = 0;
  // Completes when the connection is gone: ok after a graceful close by either side, otherwise
  // the error (lost, timed out, refused) that ended it.
  virtual Awaitable<Result<void>> closed() = 0;
};

using ConnectionHandle = std::shared_ptr<TransportConnection>;
using TransportHandler = std::function<Awaitable<void>(ConnectionHandle)>;

class Transport {
 public:
  virtual ~Transport() = default;
  virtual const PublicKey& node_id() const = 0;
  virtual asio::any_io_executor executor() const = 0;
  // Where peers can reach us (empty on transports without socket addresses).
  virtual std::vector<SocketAddress> local_addresses() const = 0;
  // Accept connections for `alpn` and hand each to `handler`, started as its own coroutine on
  // executor(). Registering again replaces the handler. May be called from any thread.
  virtual void register_protocol(ByteSpan alpn, TransportHandler handler) = 0;
  // Connects to `peer` for `alpn` (or reuses a live connection where the transport does).
  // Errors: the peer cannot be reached, refuses us or the ALPN, or proves another identity.
  virtual Awaitable<Result<ConnectionHandle>> connect(PeerAddress peer, Bytes alpn) = 0;
  // Live connections, for metrics: a counter any thread may read and keep; null where the
  // transport does not count them.
  virtual std::shared_ptr<const std::atomic<std::size_t>> connection_count() const {
    return nullptr;
  }
};

// "ip:port" or "[ipv6]:port", as peers' addresses are written in configuration and on the
// command line. Errors: InvalidArgument naming the text.
Result<SocketAddress> parse_socket_address(std::string_view text);
// The inverse: "ip:port", or "[ipv6]:port" so that the port stays separable.
std::string format_socket_address(const SocketAddress& address);

// Helpers every protocol driver needs on top of TransportStream.

// What TransportConnection::closed() reports for a connection that ended with `info`: ok for a
// close with code 0 by either side, otherwise Io carrying info.to_string().
Result<void> close_result(const CloseInfo& info);

// Reads exactly buffer.size() bytes. Errors: InvalidLength ("stream ended") when the peer
// finishes first, or the stream's error.
Awaitable<Result<void>> read_exact(TransportStream& stream, std::span<std::uint8_t> buffer);

// Length-prefixed frames (u32 big-endian length, then the bytes), the framing our own protocols
// use on a stream. read_frame: nullopt at a clean end of stream between frames; InvalidLength
// for a frame over `limit` bytes (nothing of it is read) or an end of stream inside a frame.
Awaitable<Result<void>> write_frame(TransportStream& stream, ByteSpan frame);
Awaitable<Result<std::optional<Bytes>>> read_frame(TransportStream& stream, std::size_t limit);

}  // namespace p2panda::net

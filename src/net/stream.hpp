// Stream: an application's handle on one bidirectional QUIC stream.
//
// Reads return bytes in order, 0 at the peer's end of stream; the peer gets more credit only as
// we read (flow control is backpressure). write() returns once the bytes are queued, and waits
// while more than TransportConfig::send_buffer bytes are unacknowledged. Copyable handle; every
// call REQUIRES running on the endpoint's executor (Endpoint::executor()), otherwise it fails with
// InvalidArgument. Errors: Io when the connection is gone or the peer reset/stopped the stream.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

#include "net/asio.hpp"

namespace p2panda::net {

class ConnectionImpl;
struct StreamState;

class Stream {
 public:
  Stream(std::shared_ptr<ConnectionImpl> connection, std::shared_ptr<StreamState> state);

  std::int64_t id() const;

  // Up to buffer.size() bytes; 0 means the peer finished its side.
  Awaitable<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer);
  // Everything until the peer finishes. Errors: InvalidLength past `limit` bytes.
  Awaitable<Result<Bytes>> read_to_end(std::size_t limit);
  Awaitable<Result<void>> write(ByteSpan data);
  // Ends our side of the stream (FIN after the queued bytes). Errors: as write().
  Awaitable<Result<void>> finish();

 private:

  std::shared_ptr<ConnectionImpl> connection_;
  std::shared_ptr<StreamState> state_;
};

}  // namespace p2panda::net

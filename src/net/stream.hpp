// Stream: an application's handle on one QUIC stream: bidirectional, or one direction of a
// unidirectional stream (send-only where it was opened, receive-only at the peer).
//
// Reads return bytes in order, 0 at the peer's end of stream; the peer gets more credit only as
// we read (flow control is backpressure). write() returns once the bytes are queued, and waits
// while more than TransportConfig::send_buffer bytes are unacknowledged. Copyable handle; every
// call REQUIRES running on the endpoint's executor (Endpoint::executor()), otherwise it fails with
// InvalidArgument. Errors: InvalidArgument for reading a send-only or writing a receive-only
// stream; StreamReset (message has the application code) once the stream was reset or stopped
// by either side; the connection's error (see Connection) once it is gone.
#pragma once

#include <cstdint>
#include <memory>
#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>
#include <span>

#include "net/asio.hpp"

namespace p2panda::net {

class ConnectionImpl;
struct StreamState;

class Stream {
 public:
  Stream(std::shared_ptr<ConnectionImpl> connection, std::shared_ptr<StreamState> state);

  std::int64_t id() const;
  bool is_send_only() const;
  bool is_receive_only() const;

  // Up to buffer.size() bytes; 0 means the peer finished its side. Buffered bytes not yet read
  // when the peer resets the stream are discarded: the read fails with StreamReset.
  Awaitable<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer);
  // Everything until the peer finishes. Errors: InvalidLength past `limit` bytes.
  Awaitable<Result<Bytes>> read_to_end(std::size_t limit);
  Awaitable<Result<void>> write(ByteSpan data);
  // Ends our side of the stream (FIN after the queued bytes). Errors: as write().
  Awaitable<Result<void>> finish();
  // Abandons our sending side: RESET_STREAM with `code`; unacknowledged bytes are dropped and
  // the peer's reads fail with StreamReset. No-op when already reset. Errors: InvalidArgument on
  // a receive-only stream.
  Awaitable<Result<void>> reset(std::uint64_t code);
  // Asks the peer to stop sending: STOP_SENDING with `code`; unread bytes are dropped and the
  // peer's writes fail with StreamReset. No-op when already stopped. Errors: InvalidArgument on a
  // send-only stream.
  Awaitable<Result<void>> stop(std::uint64_t code);

 private:
  std::shared_ptr<ConnectionImpl> connection_;
  std::shared_ptr<StreamState> state_;
};

}  // namespace p2panda::net

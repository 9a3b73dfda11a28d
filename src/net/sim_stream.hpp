// SimStream: one stream (bidirectional, or one end of a unidirectional one) of a SimConnection, with QUIC's flow control: the receiver
// grants credit as the application reads, and write() waits while the credit is used up.
//
// Threading: everything runs on the owning connection's executor (REQUIRES; otherwise
// InvalidArgument).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include <p2panda/encoding.hpp>

#include "net/transport.hpp"

namespace p2panda::net {

class SimConnection;

// Both directions of one stream as one end sees them.
struct SimStreamState {
  std::uint64_t id = 0;
  // A unidirectional stream sends only from its opener (bidirectional: both true).
  bool can_send = true;
  bool can_receive = true;
  // Receiving.
  std::deque<Bytes> chunks;
  std::size_t head = 0;      // bytes of chunks.front() already read
  std::size_t readable = 0;  // bytes in chunks not yet read
  bool fin_received = false;
  bool fin_read = false;     // the application saw the end (read returned 0)
  std::uint64_t consumed = 0;
  std::uint64_t advertised = 0;  // the credit limit we last granted
  // Sending.
  std::uint64_t sent = 0;
  std::uint64_t send_limit = 0;  // the credit the peer granted
  bool fin_sent = false;
  // Abort, by us or by the peer.
  bool aborted = false;
  std::optional<std::uint64_t> peer_abort_code;

  std::size_t take(std::span<std::uint8_t> buffer);
  bool done() const {
    return aborted || peer_abort_code || ((fin_sent || !can_send) && (fin_read || !can_receive));
  }
};

class SimStream final : public TransportStream {
 public:
  SimStream(std::shared_ptr<SimConnection> connection, std::shared_ptr<SimStreamState> state);

  Awaitable<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) override;
  Awaitable<Result<void>> write(ByteSpan data) override;
  Awaitable<Result<void>> finish() override;
  void abort(std::uint64_t code) override;

 private:
  // An error when the stream can no longer send; nullopt when it can.
  std::optional<Error> send_error() const;

  std::shared_ptr<SimConnection> connection_;
  std::shared_ptr<SimStreamState> state_;
};

}  // namespace p2panda::net

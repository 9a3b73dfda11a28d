// StreamState: the buffers and flags of one QUIC stream, shared between the connection (which
// feeds it from ngtcp2 callbacks) and the Stream handle (which the application reads and writes).
//
// Send side: written bytes stay buffered until the peer acknowledges them, as ngtcp2 requires.
// Receive side: in-order bytes from ngtcp2, consumed by reads; credit goes back to the peer only
// as the application reads (that is the backpressure). Endpoint thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include <ngtcp2/ngtcp2.h>

#include <p2panda/encoding.hpp>

#include "net/notifier.hpp"

namespace p2panda::net {

struct StreamState {
  // `local`: we opened the stream. A unidirectional stream is send-only on the side that opened
  // it and receive-only on the other.
  StreamState(std::int64_t stream_id, bool local)
      : id(stream_id),
        send_only((stream_id & 0x2) != 0 && local),
        receive_only((stream_id & 0x2) != 0 && !local) {}

  std::int64_t id;
  bool send_only;
  bool receive_only;

  // Send side: chunks cover stream offsets [chunks_base, written).
  std::deque<Bytes> chunks;
  std::deque<Bytes> retired;  // dropped by a reset or stop; ngtcp2 may still read them
  std::uint64_t chunks_base = 0;
  std::uint64_t sent = 0;     // handed to ngtcp2 up to here
  std::uint64_t written = 0;  // the application wrote up to here
  std::uint64_t acked = 0;    // the peer acknowledged up to here
  bool fin_requested = false;
  bool fin_sent = false;
  bool blocked = false;  // waiting for the peer's MAX_STREAM_DATA
  bool queued = false;   // in the connection's send queue

  // Receive side.
  Bytes received;
  std::size_t read_pos = 0;
  bool fin_received = false;
  std::optional<std::uint64_t> reset_code;  // the peer reset its sending side
  // The peer sent STOP_SENDING. ngtcp2 0.12 reports no event for it: we notice when ngtcp2
  // refuses further writes (NGTCP2_ERR_STREAM_SHUT_WR), and learn its code only when the stream
  // closes (docs/net.md).
  bool peer_stopped = false;
  std::optional<std::uint64_t> stop_code;
  bool credited = false;  // a remote stream whose slot was returned to the peer (MAX_STREAMS)
  bool closed = false;    // ngtcp2 forgot the stream
  std::optional<std::uint64_t> local_reset_code;  // we reset our sending side (Stream::reset)
  std::optional<std::uint64_t> local_stop_code;   // we stopped reading (Stream::stop)

  Notifier notifier;

  bool has_pending_send() const { return sent < written || (fin_requested && !fin_sent); }
  std::uint64_t unacked() const { return written - acked; }
  std::size_t readable() const { return received.size() - read_pos; }

  void append(ByteSpan data);
  // Up to `max` vectors of unsent bytes starting at `sent`. Returns how many were filled.
  std::size_t unsent(ngtcp2_vec* vecs, std::size_t max) const;
  void on_acked(std::uint64_t offset, std::uint64_t length);
  // Moves up to buffer.size() received bytes out. Returns how many.
  std::size_t take(std::span<std::uint8_t> buffer);
  // Forgets unsent and unacknowledged bytes (the sending side was reset). Writers stop waiting.
  void drop_send();
  // ngtcp2 shut our sending side without us asking: the peer sent STOP_SENDING.
  void on_write_shut();
  // Forgets unread bytes (the receiving side was reset or stopped). Returns how many there were.
  std::size_t drop_received();
};

}  // namespace p2panda::net

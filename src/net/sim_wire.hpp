// SimWire: the shared state of one simulated connection between two SimConnection ends, and the
// packets (SimFrame) that travel on it. Internal to SimHub and SimConnection.
//
// Threading: every field is guarded by the owning SimHub's mutex; a SimFrame is a plain value
// handed from the sender's thread to the receiver's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>

#include <p2panda/encoding.hpp>

#include "net/asio.hpp"

namespace p2panda::net {

class SimConnection;

// Stream data travels in packets of at most this size, cut at multiples of it in the stream, so
// that the same writes make the same packets (and the same loss decisions) however reads go.
inline constexpr std::size_t kSimPacketSize = 16 * 1024;

// What QUIC frames carry, reduced to what the simulation needs.
struct SimFrame {
  enum class Kind {
    Data,    // stream bytes, then optionally the end of the stream
    Credit,  // the receiver read more: the sender may send up to `value` bytes on `stream`
    Abort,   // the sender aborted `stream` with code `value` (RESET_STREAM + STOP_SENDING)
    Close,   // the sender closed the connection with code `value` and `reason`
  };
  Kind kind = Kind::Data;
  std::uint64_t stream = 0;
  Bytes data;
  bool fin = false;
  std::uint64_t value = 0;
  std::string reason;
};

// One end of the wire: what arrives there, and the state of the direction sending from it.
struct SimWireSide {
  std::uint32_t node = 0;
  asio::any_io_executor executor;
  // Set while the end is open, so a connection nobody holds a handle to stays alive (as on the
  // QUIC endpoint); cleared when it ends, which breaks the end -> wire -> end cycle.
  std::shared_ptr<SimConnection> end;
  bool closed = false;
  // Toward this end, by delivery time, then sending order.
  std::map<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>, SimFrame> inbox;
  // Sending from this end:
  std::mt19937_64 rng;
  std::uint64_t sent = 0;
  std::chrono::steady_clock::time_point link_free{};  // bandwidth: previous packet sent
  // Order is kept per stream, as in QUIC: a retransmission delays its own stream only. A close
  // comes after everything sent before it.
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> stream_delivery;
  std::chrono::steady_clock::time_point last_delivery{};
};

struct SimWire {
  SimWireSide sides[2];  // 0: the connector, 1: the acceptor
  bool broken = false;
};

}  // namespace p2panda::net

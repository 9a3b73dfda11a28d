// Configuration and small value types of the QUIC endpoint. Plain values: any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <p2panda/keys.hpp>

#include "net/asio.hpp"

namespace p2panda::net {

// Congestion controllers ngtcp2 0.12 offers (ngtcp2_cc_algo).
enum class CongestionControl { Cubic, Reno, Bbr, Bbr2 };

struct TransportConfig {
  // A connection with no packets from the peer for this long is dropped (negotiated: QUIC uses the
  // smaller of both sides' values).
  std::chrono::milliseconds idle_timeout{30'000};
  // Send a PING when idle this long, keeping an idle connection (and NAT bindings) alive. Zero: off.
  std::chrono::milliseconds keep_alive{0};
  std::chrono::milliseconds handshake_timeout{10'000};
  // Dialling a peer with several addresses, the next one is tried when the previous has not
  // completed its handshake within this (Happy Eyeballs' connection attempt delay, RFC 8305),
  // or at once when it failed. See Endpoint::connect_any.
  std::chrono::milliseconds dial_stagger{250};
  // Receive windows; ngtcp2 auto-tunes each up to its max.
  std::uint64_t stream_window = 1 << 20;
  std::uint64_t connection_window = 4 << 20;
  std::uint64_t max_stream_window = 16 << 20;
  std::uint64_t max_connection_window = 24 << 20;
  // How many bidirectional and unidirectional streams the peer may open at once. A peer over the
  // limit waits for credit (open_bi()/open_uni() block), it does not fail.
  std::uint64_t max_bidi_streams = 100;
  std::uint64_t max_uni_streams = 100;
  // Live connections (either direction, handshaking ones included) to one peer node id. An extra
  // outgoing one fails with TooManyConnections; an extra incoming one is closed after the
  // handshake with CONNECTION_REFUSED and a reason naming the limit.
  std::size_t max_connections_per_peer = 8;
  // Live connections of the endpoint. Extra outgoing: TooManyConnections; extra incoming Initials
  // are answered statelessly with CONNECTION_REFUSED.
  std::size_t max_connections = 1024;
  // Bytes a writer may have queued but not yet acknowledged before write() waits.
  std::size_t send_buffer = 1 << 20;
  CongestionControl congestion_control = CongestionControl::Cubic;
};

// Socket-level batching (Linux). Both fall back silently when the kernel lacks them.
struct UdpOptions {
  // Send runs of packets with one sendmsg (UDP_SEGMENT). Off: one sendmsg per packet.
  bool gso = true;
  // Let the kernel coalesce received GSO bursts into one buffer (UDP_GRO).
  bool gro = true;
};

// Counters of one UDP socket, for benchmarks and diagnosis.
struct UdpStats {
  std::uint64_t send_calls = 0;  // sendmsg/sendto calls that succeeded
  std::uint64_t datagrams_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t dropped_sends = 0;  // datagrams lost to a full socket buffer or a send error
  std::uint64_t gso_sends = 0;      // sendmsg calls that carried more than one datagram
  std::uint64_t gso_refusals = 0;   // GSO sends the kernel refused (then GSO is off)
  std::uint64_t receive_calls = 0;  // recvmmsg calls that returned datagrams
  std::uint64_t datagrams_received = 0;
  std::uint64_t coalesced_receives = 0;  // received buffers (GRO) holding more than one datagram
  std::uint64_t unreachable_reports = 0;  // ICMP "port unreachable" for datagrams we sent
};

struct EndpointConfig {
  PrivateKey key = PrivateKey::generate();
  SocketAddress bind_v4{asio::ip::address_v4::loopback(), 0};  // port 0: any free port
  std::optional<SocketAddress> bind_v6;
  TransportConfig transport;
  UdpOptions udp;
  // Answer a client's first Initial with a Retry and create connection state only once the
  // client echoes the token, proving it receives packets at its address (RFC 9000 8.1.2). Costs
  // one round trip per handshake; the token key is random per endpoint.
  bool validate_addresses = false;
};

// Options of Endpoint::connect().
struct ConnectOptions {
  // Return an established (or handshaking) outgoing connection to the same peer node id and ALPN
  // instead of dialling again. false: always dial a fresh connection.
  bool reuse = true;
};

// Counters of an endpoint, for tests and observability.
struct EndpointStats {
  std::size_t open_connections = 0;  // live connections, handshaking ones included
  std::size_t connection_ids = 0;    // entries in the connection-id routing map
  std::uint64_t packets_sent = 0;    // UDP datagrams handed to the kernel
  std::uint64_t bytes_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t handshakes_completed = 0;
  std::uint64_t connections_refused = 0;  // over a connection limit (incoming)
  std::uint64_t connections_replaced = 0;  // a peer's oldest accepted one, closed for its newest
  std::uint64_t retries_sent = 0;
  std::uint64_t version_negotiations_sent = 0;
  std::size_t closing_ids = 0;           // ids of closed connections in their closing period
  std::uint64_t closes_resent = 0;       // CONNECTION_CLOSE sent again in a closing period
};

// How a connection ended.
struct CloseInfo {
  enum class Kind {
    Local,             // we called close()
    Peer,              // the peer sent CONNECTION_CLOSE with an application code
    Transport,         // a QUIC or TLS error (ours or the peer's), see `code` and `reason`
    IdleTimeout,       // nothing heard from the peer within the idle timeout
    HandshakeTimeout,  // the handshake did not finish within TransportConfig::handshake_timeout
    Unreachable,       // before the handshake finished, the peer's host said no port is open
    Endpoint,          // our endpoint shut down
  };
  Kind kind = Kind::Local;
  std::uint64_t code = 0;
  std::string reason;
  // Transport only: the peer sent this CONNECTION_CLOSE (false: we closed on an error we saw).
  bool remote = false;

  std::string to_string() const;
};

// The error code a connection that ended this way reports (table in docs/net.md, "Errors"):
// ConnectionClosed, ConnectionLost, TimedOut, TlsRefused, or Io.
Errc close_errc(const CloseInfo& info);

}  // namespace p2panda::net

// EndpointImpl: the state behind Endpoint: io_context and its thread, sockets, TLS identity, the
// connection-id map that routes datagrams to connections, the set of live connections (for
// reuse, limits and stats), the ALPN registry, and the stateless replies (Version Negotiation,
// Retry, refusals) sent before any connection exists.
//
// The registry is guarded by a mutex (register_protocol may come from any thread); everything else
// is endpoint thread only.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <ngtcp2/ngtcp2.h>

#include "net/connection.hpp"
#include "net/connection_impl.hpp"
#include "net/tls_identity.hpp"
#include "net/udp_socket.hpp"

namespace p2panda::net {

class EndpointImpl {
 public:
  static constexpr std::size_t kCidLength = 16;

  static Result<std::unique_ptr<EndpointImpl>> bind(EndpointConfig config);
  ~EndpointImpl();

  asio::io_context& io() { return io_; }
  const PublicKey& node_id() const { return identity_->public_key(); }
  const UdpSocket& socket_v4() const { return *v4_; }
  const UdpSocket* socket_v6() const { return v6_.get(); }
  UdpStats udp_stats() const;
  std::shared_ptr<const std::atomic<std::size_t>> connection_count() const { return live_count_; }

  void register_protocol(Bytes alpn, ProtocolHandler handler);
  bool has_protocol(const Bytes& alpn) const;
  Awaitable<Result<Connection>> connect(SocketAddress address, PublicKey expected, Bytes alpn,
                                        ConnectOptions options);
  // Dials `addresses` staggered (endpoint_dial.cpp); see Endpoint::connect_any.
  Awaitable<Result<Connection>> connect_any(std::vector<SocketAddress> addresses,
                                            PublicKey expected, Bytes alpn);
  // Any thread (hops onto the endpoint thread and waits when called from elsewhere).
  EndpointStats stats();

  // For connections.
  void register_cid(const Bytes& cid, std::shared_ptr<ConnectionImpl> connection);
  void unregister_cid(const Bytes& cid);
  void remove(ConnectionImpl& connection);
  // A server connection verified its client: nullopt to admit it, or the transport error code
  // and reason to close it with (a connection limit, an ALPN unregistered since).
  std::optional<std::pair<std::uint64_t, std::string>> admit(const ConnectionImpl& connection);
  void count_handshake() { ++stats_.handshakes_completed; }
  void on_accepted(std::shared_ptr<ConnectionImpl> connection);
  const std::array<std::uint8_t, 32>& reset_secret() const { return reset_secret_; }

  // For the fuzz target (fuzz/fuzz_quic_receive.cpp) only. receive_for_testing hands `datagram`
  // to the receive path exactly as the socket of `from`'s family does after a recvmmsg batch of
  // one (routing, accept, stateless replies, then the flush of touched connections), on the
  // endpoint thread, and returns once that is done. close_all_for_testing ends every connection
  // as the destructor does, so that nothing an input created outlives it (leaks then show).
  // REQUIRES: not called on the endpoint thread; a v6 `from` needs EndpointConfig::bind_v6.
  void receive_for_testing(const SocketAddress& from, ByteSpan datagram);
  void close_all_for_testing();

 private:
  explicit EndpointImpl(EndpointConfig config);
  void start();
  void stop();
  void terminate_all(const CloseInfo& info);
  void on_datagram(UdpSocket& socket, const SocketAddress& from, ByteSpan datagram);
  void accept(UdpSocket& socket, const SocketAddress& from, ByteSpan datagram);
  void flush_touched();
  // Closing period: remembers a connection we closed by its ids, and answers the peer's packets
  // for it with our CONNECTION_CLOSE again (it may have been lost), at most once per doubling of
  // their count. answer_closing says whether `cid` was one.
  void enter_closing(const ConnectionImpl& connection);
  bool answer_closing(const Bytes& cid);
  // An ICMP "port unreachable" for a datagram to `to`: our dials to it still in their handshake
  // fail now (Errc::Unreachable) instead of at the handshake timeout. Established connections
  // are left alone: a forged ICMP message must not be able to end them.
  void unreachable(const SocketAddress& to, const std::string& what);
  std::vector<Bytes> protocols() const;
  EndpointStats stats_here() const;
  std::size_t connections_to(const PublicKey& peer, const ConnectionImpl* except) const;
  std::shared_ptr<ConnectionImpl> reusable(const PublicKey& peer, const Bytes& alpn) const;
  // The peer's oldest connection that it dialled to us (not `except`), if any.
  std::shared_ptr<ConnectionImpl> oldest_accepted(const PublicKey& peer,
                                                  const ConnectionImpl* except) const;
  Awaitable<Result<Connection>> await_handshake(std::shared_ptr<ConnectionImpl> connection);
  // Starts a handshake to `address` (limits and family checked). REQUIRES: endpoint thread.
  Result<std::shared_ptr<ConnectionImpl>> dial(const SocketAddress& address,
                                               const PublicKey& expected, Bytes alpn);

  // Stateless replies (endpoint_accept.cpp).
  void send_version_negotiation(UdpSocket& socket, const SocketAddress& from,
                                const ngtcp2_version_cid& vc);
  void send_retry(UdpSocket& socket, const SocketAddress& from, const ngtcp2_pkt_hd& header);
  void send_refusal(UdpSocket& socket, const SocketAddress& from, const ngtcp2_pkt_hd& header,
                    std::uint64_t code, std::string_view reason);

  asio::io_context io_;  // first member: destroyed last
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  EndpointConfig config_;
  std::shared_ptr<TlsIdentity> identity_;
  std::array<std::uint8_t, 32> reset_secret_{};
  std::array<std::uint8_t, 32> token_secret_{};  // keys Retry tokens; random per endpoint
  std::unique_ptr<UdpSocket> v4_;
  std::unique_ptr<UdpSocket> v6_;
  std::map<Bytes, std::shared_ptr<ConnectionImpl>> connections_;  // by our connection ids
  std::vector<std::shared_ptr<ConnectionImpl>> touched_;           // read in this batch
  struct Closing {
    Bytes packet;
    UdpSocket* socket;
    SocketAddress remote;
    std::chrono::steady_clock::time_point until;
    std::uint64_t received = 0;
  };
  std::map<Bytes, std::shared_ptr<Closing>> closing_;  // by the closed connections' ids
  static constexpr std::size_t kMaxClosingIds = 8192;
  // Every live connection, handshaking ones included (terminate() removes it). Iterated only to
  // find or count connections, never in an order that reaches the wire.
  std::map<const ConnectionImpl*, std::shared_ptr<ConnectionImpl>> live_;
  // live_.size() for other threads (metrics), which must not wait on the endpoint thread; shared
  // so that a reader may keep it after the endpoint is gone.
  std::shared_ptr<std::atomic<std::size_t>> live_count_ = std::make_shared<std::atomic<std::size_t>>(0);
  EndpointStats stats_;  // counters only; the sizes are filled in by stats_here()
  mutable std::mutex protocols_mutex_;
  std::map<Bytes, ProtocolHandler> protocols_;
  std::thread thread_;
};

}  // namespace p2panda::net

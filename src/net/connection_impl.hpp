// ConnectionImpl: one QUIC connection, an ngtcp2_conn plus its TlsSession, its streams and its
// timer. It turns datagrams into stream events and stream writes into datagrams.
//
// Owned by shared_ptr: the endpoint's connection-id map holds it while it is alive, Connection and
// Stream handles hold it as long as the application does. terminate() drops it from the map and
// releases its timer, so after its endpoint is gone only plain memory remains. Endpoint thread
// only; every public method REQUIRES being called there.
#pragma once

#include <atomic>
#include <chrono>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ngtcp2/ngtcp2.h>

#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>

#include "net/config.hpp"
#include "net/connection_memory.hpp"
#include "net/notifier.hpp"
#include "net/stream_state.hpp"
#include "net/tls_session.hpp"

namespace p2panda::net {

class EndpointImpl;
class UdpSocket;

// ngtcp2 timestamps: nanoseconds on the steady clock.
ngtcp2_tstamp now_ns();

class ConnectionImpl : public std::enable_shared_from_this<ConnectionImpl> {
 public:
  struct Setup {
    EndpointImpl* endpoint;
    UdpSocket* socket;
    SocketAddress remote;
    TransportConfig config;
    std::unique_ptr<TlsSession> tls;
  };

  // What a valid Retry token proved about a client's Initial (see EndpointImpl::accept).
  struct RetryProof {
    ngtcp2_cid original_dcid;  // the client's first destination id, before our Retry
    ngtcp2_cid retry_scid;     // the id we chose in the Retry (the Initial's destination id now)
    ByteSpan token;
  };

  // `expected` and `alpn` are what the client asked for; remote_id() and alpn() report them
  // before the handshake completes (so concurrent connects can find and share this one).
  // Errors: Io when ngtcp2 refuses the parameters.
  static Result<std::shared_ptr<ConnectionImpl>> client(Setup setup, const PublicKey& expected,
                                                        Bytes alpn);
  // `header` is the client's first Initial packet, as decoded by ngtcp2_accept; `proof` is set
  // when the Initial carried a valid Retry token.
  static Result<std::shared_ptr<ConnectionImpl>> server(Setup setup, const ngtcp2_pkt_hd& header,
                                                        const RetryProof* proof);
  ~ConnectionImpl();

  bool is_server() const { return server_; }
  UdpSocket* socket() const { return socket_; }
  const SocketAddress& remote_address() const { return remote_; }
  const std::vector<Bytes>& source_ids() const { return source_ids_; }

  // Feeds one datagram to ngtcp2. Call flush() after a batch.
  void on_datagram(const SocketAddress& from, ByteSpan datagram);
  // Writes every packet ngtcp2 has ready (within pacing and congestion limits) and rearms the timer.
  void flush();
  // flush() soon, once, from the event loop (coalesces many application calls).
  void schedule_flush();

  // Lifecycle.
  bool handshake_done() const { return handshake_done_; }
  bool alive() const { return !close_info_; }
  const std::optional<CloseInfo>& close_info() const { return close_info_; }
  // The error pending and future operations see once the connection is gone.
  Error error() const;
  Notifier& events() { return events_; }
  const PublicKey& remote_id() const { return remote_id_; }
  const Bytes& alpn() const { return alpn_; }
  // True when remote_id() names the peer: a client knows it from the start (the key it dialled),
  // a server once the handshake verified the client's key.
  bool peer_known() const { return !server_ || handshake_done_; }
  bool is_server_side() const { return server_; }
  // Creation order on this process: a lower serial is an older connection.
  std::uint64_t serial() const { return serial_; }
  // Sends CONNECTION_CLOSE with an application code and drops the connection.
  void close(std::uint64_t code, std::string_view reason);
  // Sends CONNECTION_CLOSE with a transport error code (e.g. CONNECTION_REFUSED) and drops it.
  void close_transport(std::uint64_t code, std::string_view reason);
  // The endpoint is going away: tells the peer (CONNECTION_CLOSE, transport NO_ERROR, so it
  // stops using the connection now rather than at its idle timeout) and drops the connection.
  void shut_down();
  // Drops the connection without sending anything; wakes all waiters.
  void terminate(CloseInfo info);
  // A dial to another address of the same peer completed first (EndpointImpl::connect_any):
  // closes this one (still handshaking: connect_any leaves completed ones open) and marks it so
  // that callers who shared its handshake move on to the winner instead of failing.
  void supersede();
  bool superseded() const { return superseded_; }
  // The CONNECTION_CLOSE we sent (empty if none) and how long to keep answering the peer's
  // packets with it (three PTOs, RFC 9000 10.2.1): EndpointImpl's closing period.
  const Bytes& close_packet() const { return close_packet_; }
  std::chrono::nanoseconds closing_period() const { return closing_period_; }

  // Streams. open_stream returns nullptr while the peer's stream limit is reached.
  Result<std::shared_ptr<StreamState>> open_stream(bool bidi);
  std::shared_ptr<StreamState> pop_incoming(bool bidi);
  // RESET_STREAM / STOP_SENDING with an application code. Errors: as error() when closed.
  Result<void> reset_stream(StreamState& stream, std::uint64_t code);
  Result<void> stop_stream(StreamState& stream, std::uint64_t code);
  void queue_send(StreamState& stream);
  void consumed(StreamState& stream, std::size_t bytes);
  std::size_t send_buffer() const { return config_.send_buffer; }

  // ngtcp2 callbacks land here (connection_callbacks.cpp).
  int on_handshake_completed();
  int on_stream_open(std::int64_t id);
  int on_stream_data(std::int64_t id, std::uint32_t flags, ByteSpan data);
  int on_stream_acked(std::int64_t id, std::uint64_t offset, std::uint64_t length);
  int on_stream_close(std::int64_t id, std::optional<std::uint64_t> app_code);
  int on_stream_reset(std::int64_t id, std::uint64_t app_code);
  int on_stream_stop_sending(std::int64_t id, std::uint64_t app_code);
  int on_extend_stream_data(std::int64_t id);
  int on_new_connection_id(ngtcp2_cid* cid, std::uint8_t* token, std::size_t length);
  int on_remove_connection_id(const ngtcp2_cid* cid);
  void wake_all();
  void credit_remote_stream(StreamState& stream);

  static const ngtcp2_callbacks& callbacks(bool server);

 private:
  explicit ConnectionImpl(Setup setup, bool server);
  void fill_settings(ngtcp2_settings& settings) const;
  void fill_params(ngtcp2_transport_params& params) const;
  Result<void> finish_setup(int rv);
  void handle_read_error(int rv);
  void close_with_error(int liberr);
  void send_close(const ngtcp2_connection_close_error& ccerr);
  CloseInfo peer_close_info() const;
  void arm_timer();
  void on_timer();
  StreamState* next_sendable();

  EndpointImpl* endpoint_;
  UdpSocket* socket_;
  SocketAddress remote_;
  TransportConfig config_;
  std::unique_ptr<TlsSession> tls_;
  bool server_;
  ConnectionMemory memory_;  // must outlive conn_
  ngtcp2_conn* conn_ = nullptr;
  ngtcp2_path_storage path_{};
  std::optional<asio::steady_timer> timer_;
  ngtcp2_tstamp timer_expiry_ = UINT64_MAX;  // when timer_ fires; UINT64_MAX: not armed
  bool flush_scheduled_ = false;
  bool in_flush_ = false;

  std::vector<Bytes> source_ids_;  // registered with the endpoint
  std::map<std::int64_t, std::shared_ptr<StreamState>> streams_;
  std::deque<std::int64_t> send_queue_;
  std::deque<std::shared_ptr<StreamState>> incoming_bidi_;
  std::deque<std::shared_ptr<StreamState>> incoming_uni_;

  bool handshake_done_ = false;
  bool superseded_ = false;
  Bytes close_packet_;
  std::chrono::nanoseconds closing_period_{0};
  PublicKey remote_id_;
  Bytes alpn_;
  std::uint64_t serial_ = next_serial();
  static std::uint64_t next_serial() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
  }
  std::optional<CloseInfo> close_info_;
  // Set by the endpoint when it refuses a verified client (a limit, an ALPN unregistered since);
  // the connection is closed with it as soon as ngtcp2 returns from the packet that completed
  // the handshake (ngtcp2 cannot write from inside its callback).
  std::optional<std::pair<std::uint64_t, std::string>> refusal_;
  Notifier events_;
};

}  // namespace p2panda::net

// How a connection ends: reading the peer's CONNECTION_CLOSE, sending ours, dropping the
// connection, and the one mapping from CloseInfo to the Errc that pending and later operations
// see (docs/net.md "Errors").
#include <ngtcp2/ngtcp2_crypto.h>

#include "net/connection_impl.hpp"
#include "net/endpoint_impl.hpp"
#include "net/udp_socket.hpp"

namespace p2panda::net {
namespace {

constexpr std::size_t kMaxPacket = 1500;

// CRYPTO_ERROR (RFC 9001 4.8): 0x100 + the TLS alert.
bool is_tls_alert(std::uint64_t code) { return code >= NGTCP2_CRYPTO_ERROR && code < 0x200; }

}  // namespace

Errc close_errc(const CloseInfo& info) {
  switch (info.kind) {
    case CloseInfo::Kind::Local:
    case CloseInfo::Kind::Peer:
    case CloseInfo::Kind::Endpoint:
      return Errc::ConnectionClosed;
    case CloseInfo::Kind::IdleTimeout:
      return Errc::ConnectionLost;
    case CloseInfo::Kind::HandshakeTimeout:
      return Errc::TimedOut;
    case CloseInfo::Kind::Unreachable:
      return Errc::Unreachable;
    case CloseInfo::Kind::Transport:
      if (is_tls_alert(info.code)) return Errc::TlsRefused;
      // A peer closing deliberately at the transport level: no error, a refusal (our connection
      // limits send CONNECTION_REFUSED), or an application close sent before 1-RTT keys.
      if (info.remote && (info.code == NGTCP2_NO_ERROR || info.code == NGTCP2_CONNECTION_REFUSED ||
                          info.code == NGTCP2_APPLICATION_ERROR)) {
        return Errc::ConnectionClosed;
      }
      return Errc::Io;  // a protocol violation or an internal failure, on either side
  }
  return Errc::Io;
}


std::string CloseInfo::to_string() const {
  switch (kind) {
    case Kind::Local:
      return "closed locally with code " + std::to_string(code) + " (" + reason + ")";
    case Kind::Peer:
      return "closed by peer with code " + std::to_string(code) + " (" + reason + ")";
    case Kind::Transport: {
      std::string text = remote ? "closed by peer with transport error " : "transport error ";
      text += std::to_string(code);
      if (is_tls_alert(code)) text += " (TLS alert " + std::to_string(code & 0xff) + ")";
      return text + ": " + reason;
    }
    case Kind::IdleTimeout:
      return "connection lost (idle timeout): " + reason;
    case Kind::HandshakeTimeout:
      return "handshake timed out: " + reason;
    case Kind::Unreachable:
      return "unreachable: " + reason;
    case Kind::Endpoint:
      return "endpoint shut down";
  }
  return "closed";
}

CloseInfo ConnectionImpl::peer_close_info() const {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_conn_get_connection_close_error(conn_, &ccerr);
  CloseInfo info;
  info.kind = ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION
                  ? CloseInfo::Kind::Peer
                  : CloseInfo::Kind::Transport;
  info.code = ccerr.error_code;
  info.reason.assign(reinterpret_cast<const char*>(ccerr.reason), ccerr.reasonlen);
  info.remote = true;
  return info;
}

void ConnectionImpl::handle_read_error(int rv) {
  if (rv == NGTCP2_ERR_DRAINING) {  // the peer closed the connection
    terminate(peer_close_info());
    return;
  }
  if (rv == NGTCP2_ERR_CRYPTO) {  // TLS refused the peer (or the peer's TLS data)
    std::uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
    std::string reason = tls_->refusal().empty() ? "TLS handshake failed" : tls_->refusal();
    ngtcp2_connection_close_error ccerr;
    ngtcp2_connection_close_error_default(&ccerr);
    ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, alert, nullptr, 0);
    send_close(ccerr);
    terminate(CloseInfo{CloseInfo::Kind::Transport, NGTCP2_CRYPTO_ERROR | alert, reason});
    return;
  }
  if (rv == NGTCP2_ERR_DROP_CONN) {
    terminate(CloseInfo{CloseInfo::Kind::Transport, NGTCP2_INTERNAL_ERROR, "connection dropped"});
    return;
  }
  close_with_error(rv);
}

void ConnectionImpl::close_with_error(int liberr) {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, liberr, nullptr, 0);
  send_close(ccerr);
  terminate(CloseInfo{CloseInfo::Kind::Transport, ccerr.error_code, ngtcp2_strerror(liberr)});
}

void ConnectionImpl::send_close(const ngtcp2_connection_close_error& ccerr) {
  if (ngtcp2_conn_is_in_closing_period(conn_) || ngtcp2_conn_is_in_draining_period(conn_)) return;
  std::uint8_t packet[kMaxPacket];
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info info{};
  auto n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &info, packet, sizeof packet, &ccerr,
                                              now_ns());
  if (n <= 0) return;
  close_packet_.assign(packet, packet + n);
  closing_period_ = std::chrono::nanoseconds(3 * ngtcp2_conn_get_pto(conn_));
  socket_->send(remote_, ByteSpan(close_packet_));
}

void ConnectionImpl::close(std::uint64_t code, std::string_view reason) {
  if (!alive()) return;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  ngtcp2_connection_close_error_set_application_error(
      &ccerr, code, reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
  send_close(ccerr);
  terminate(CloseInfo{CloseInfo::Kind::Local, code, std::string(reason)});
}

void ConnectionImpl::close_transport(std::uint64_t code, std::string_view reason) {
  if (!alive()) return;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  ngtcp2_connection_close_error_set_transport_error(
      &ccerr, code, reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
  send_close(ccerr);
  terminate(CloseInfo{CloseInfo::Kind::Transport, code, std::string(reason)});
}

void ConnectionImpl::supersede() {
  if (!alive()) return;
  superseded_ = true;
  close_transport(NGTCP2_NO_ERROR, "another address of this node answered first");
}

void ConnectionImpl::shut_down() {
  if (!alive()) return;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);  // NO_ERROR
  constexpr std::string_view kReason = "endpoint shut down";
  ngtcp2_connection_close_error_set_transport_error(
      &ccerr, NGTCP2_NO_ERROR, reinterpret_cast<const std::uint8_t*>(kReason.data()),
      kReason.size());
  send_close(ccerr);
  terminate(CloseInfo{CloseInfo::Kind::Endpoint, 0, std::string(kReason)});
}

void ConnectionImpl::terminate(CloseInfo info) {
  if (close_info_) return;
  auto self = shared_from_this();  // the endpoint's map may hold the last reference
  close_info_ = std::move(info);
  timer_.reset();
  wake_all();
  endpoint_->remove(*this);
}

Error ConnectionImpl::error() const {
  if (!close_info_) return Error(Errc::Io, "connection is open");
  return Error(close_errc(*close_info_), close_info_->to_string());
}

}  // namespace p2panda::net

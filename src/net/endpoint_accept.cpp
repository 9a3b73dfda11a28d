// Packets for which no connection exists yet: a client's first Initial becomes a server
// connection, unless the endpoint first asks for address validation (Retry) or is full
// (a stateless CONNECTION_CLOSE); an unsupported version gets a Version Negotiation packet.
// None of these replies keeps state, so a flood of Initials costs no memory.
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "net/endpoint_impl.hpp"

namespace p2panda::net {
namespace {

constexpr std::size_t kMaxPacket = 1500;
// How long a Retry token stays valid: long enough for a slow client to answer, short enough
// that a captured token is of little use.
constexpr ngtcp2_duration kRetryTokenLifetime = 10 * NGTCP2_SECONDS;
// A reserved version (RFC 9000 15: 0x?a?a?a?a) listed next to v1, so that clients do not come to
// rely on the exact list (greasing).
constexpr std::uint32_t kGreaseVersion = 0x1a2a3a4a;

const ngtcp2_sockaddr* sockaddr_of(const SocketAddress& address) {
  return reinterpret_cast<const ngtcp2_sockaddr*>(address.data());
}

ngtcp2_socklen socklen_of(const SocketAddress& address) {
  return static_cast<ngtcp2_socklen>(address.size());
}

}  // namespace

void EndpointImpl::accept(UdpSocket& socket, const SocketAddress& from, ByteSpan datagram) {
  ngtcp2_pkt_hd header;
  if (ngtcp2_accept(&header, datagram.data(), datagram.size()) != 0) return;
  if (live_.size() >= config_.transport.max_connections) {
    ++stats_.connections_refused;
    send_refusal(socket, from, header, NGTCP2_CONNECTION_REFUSED,
                 "endpoint has too many connections");
    return;
  }
  std::optional<ConnectionImpl::RetryProof> proof;
  if (config_.validate_addresses) {
    if (header.token.len == 0 || header.token.base[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
      send_retry(socket, from, header);  // we issue no NEW_TOKEN tokens, so any other is stale
      return;
    }
    ngtcp2_cid original{};
    if (ngtcp2_crypto_verify_retry_token(&original, header.token.base, header.token.len,
                                         token_secret_.data(), token_secret_.size(), header.version,
                                         sockaddr_of(from), socklen_of(from), &header.dcid,
                                         kRetryTokenLifetime, now_ns()) != 0) {
      send_refusal(socket, from, header, NGTCP2_INVALID_TOKEN, "invalid or expired Retry token");
      return;
    }
    proof = ConnectionImpl::RetryProof{original, header.dcid,
                                       ByteSpan(header.token.base, header.token.len)};
  }
  auto tls = TlsSession::server(identity_, protocols());
  if (!tls) return;
  auto connection = ConnectionImpl::server(
      ConnectionImpl::Setup{this, &socket, from, config_.transport, std::move(*tls)}, header,
      proof ? &*proof : nullptr);
  if (!connection) return;
  live_[connection->get()] = *connection;
  *live_count_ = live_.size();
  (*connection)->on_datagram(from, datagram);
  touched_.push_back(std::move(*connection));
}

void EndpointImpl::send_version_negotiation(UdpSocket& socket, const SocketAddress& from,
                                            const ngtcp2_version_cid& vc) {
  const std::uint32_t versions[] = {NGTCP2_PROTO_VER_V1, kGreaseVersion};
  std::uint8_t unused_bits = 0;
  gnutls_rnd(GNUTLS_RND_NONCE, &unused_bits, 1);
  // Long header (7) + two connection ids of up to 255 bytes + the version list.
  std::uint8_t packet[7 + 2 * 255 + sizeof versions];
  // The reply's ids are the client's, swapped: its source id becomes our destination id.
  auto n =
      ngtcp2_pkt_write_version_negotiation(packet, sizeof packet, unused_bits, vc.scid, vc.scidlen,
                                           vc.dcid, vc.dcidlen, versions, std::size(versions));
  if (n <= 0) return;
  ++stats_.version_negotiations_sent;
  socket.send(from, ByteSpan(packet, static_cast<std::size_t>(n)));
}

void EndpointImpl::send_retry(UdpSocket& socket, const SocketAddress& from,
                              const ngtcp2_pkt_hd& header) {
  ngtcp2_cid retry_scid{};
  retry_scid.datalen = kCidLength;
  gnutls_rnd(GNUTLS_RND_NONCE, retry_scid.data, retry_scid.datalen);
  std::uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  auto token_length = ngtcp2_crypto_generate_retry_token(
      token, token_secret_.data(), token_secret_.size(), header.version, sockaddr_of(from),
      socklen_of(from), &retry_scid, &header.dcid, now_ns());
  if (token_length < 0) return;
  std::uint8_t packet[kMaxPacket];
  auto n =
      ngtcp2_crypto_write_retry(packet, sizeof packet, header.version, &header.scid, &retry_scid,
                                &header.dcid, token, static_cast<std::size_t>(token_length));
  if (n <= 0) return;
  ++stats_.retries_sent;
  socket.send(from, ByteSpan(packet, static_cast<std::size_t>(n)));
}

void EndpointImpl::send_refusal(UdpSocket& socket, const SocketAddress& from,
                                const ngtcp2_pkt_hd& header, std::uint64_t code,
                                std::string_view reason) {
  std::uint8_t packet[kMaxPacket];
  auto n = ngtcp2_crypto_write_connection_close(
      packet, sizeof packet, header.version, &header.scid, &header.dcid, code,
      reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
  if (n <= 0) return;
  socket.send(from, ByteSpan(packet, static_cast<std::size_t>(n)));
}

}  // namespace p2panda::net

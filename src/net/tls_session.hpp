// TlsSession: one GnuTLS session bound to one ngtcp2 connection (through ngtcp2_crypto_gnutls).
//
// Client sessions offer exactly one ALPN and accept only the raw public key they were told to
// expect; server sessions offer the registered ALPNs (mandatory match) and require the client's
// raw public key. Either side refuses X.509 and any key that is not Ed25519. The verify rule is in
// docs/net.md. Endpoint thread only.
//
// ALPN uses GnuTLS's built-in extension: names of 1 to 32 bytes (p2panda's hashed ALPNs are 32,
// see alpn.hpp), at most 8 per server session.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <p2panda/encoding.hpp>
#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>

#include "net/alpn.hpp"
#include "net/tls_identity.hpp"

namespace p2panda::net {


class TlsSession {
 public:
  // Errors: Io when GnuTLS session setup fails; InvalidArgument for an empty ALPN
  // or one longer than kMaxAlpnLength. A server offers the first kMaxServerAlpns of `alpns`.
  static Result<std::unique_ptr<TlsSession>> client(std::shared_ptr<const TlsIdentity> identity,
                                                    const PublicKey& expected, ByteSpan alpn);
  static Result<std::unique_ptr<TlsSession>> server(std::shared_ptr<const TlsIdentity> identity,
                                                    const std::vector<Bytes>& alpns);

  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;
  ~TlsSession();

  // Attach the ngtcp2 connection this session feeds (REQUIRED before the first packet).
  void attach(ngtcp2_conn* conn);

  gnutls_session_t native() const { return session_; }
  // The peer's key once its certificate passed verification.
  const std::optional<PublicKey>& peer_key() const { return peer_key_; }
  // The negotiated ALPN, empty before the handshake completes.
  Bytes selected_alpn() const;
  // Why verification refused the peer, empty if it did not.
  const std::string& refusal() const { return refusal_; }

 private:
  explicit TlsSession(std::shared_ptr<const TlsIdentity> identity);
  Result<void> init(unsigned flags);
  static int verify_callback(gnutls_session_t session);
  // Server: refuses a ClientHello that carried no QUIC transport parameters.
  static int client_hello_callback(gnutls_session_t session, unsigned type, unsigned when,
                                   unsigned incoming, const gnutls_datum_t* message);
  int verify();

  std::shared_ptr<const TlsIdentity> identity_;
  gnutls_session_t session_ = nullptr;
  ngtcp2_crypto_conn_ref conn_ref_{};
  ngtcp2_conn* conn_ = nullptr;
  std::optional<PublicKey> expected_;  // client only

  std::optional<PublicKey> peer_key_;
  std::string refusal_;
};

}  // namespace p2panda::net

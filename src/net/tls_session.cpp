#include "net/tls_session.hpp"

#include <algorithm>
#include <cstring>

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "net/alpn.hpp"

namespace p2panda::net {
namespace {

Unexpected gnutls_failure(const char* what, int rv) {
  return fail(Errc::Io, std::string(what) + ": " + gnutls_strerror(rv));
}

}  // namespace

TlsSession::TlsSession(std::shared_ptr<const TlsIdentity> identity)
    : identity_(std::move(identity)) {
  conn_ref_.user_data = this;
  conn_ref_.get_conn = [](ngtcp2_crypto_conn_ref* ref) {
    return static_cast<TlsSession*>(ref->user_data)->conn_;
  };
}

TlsSession::~TlsSession() {
  if (session_ != nullptr) gnutls_deinit(session_);
}

void TlsSession::attach(ngtcp2_conn* conn) {
  conn_ = conn;
  ngtcp2_conn_set_tls_native_handle(conn, session_);
}

Result<void> TlsSession::init(unsigned flags) {
  // Resumption tickets and early data are not used yet: every connection does a full handshake.
  int rv = gnutls_init(&session_, flags | GNUTLS_ENABLE_RAWPK | GNUTLS_NO_END_OF_EARLY_DATA |
                                      GNUTLS_NO_TICKETS);
  if (rv < 0) return gnutls_failure("gnutls_init", rv);
  rv = gnutls_priority_set(session_, identity_->priority());
  if (rv < 0) return gnutls_failure("gnutls_priority_set", rv);
  rv = gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, identity_->credentials());
  if (rv < 0) return gnutls_failure("gnutls_credentials_set", rv);
  gnutls_session_set_ptr(session_, &conn_ref_);
  gnutls_session_set_verify_function(session_, &TlsSession::verify_callback);
  return {};
}

Result<std::unique_ptr<TlsSession>> TlsSession::client(
    std::shared_ptr<const TlsIdentity> identity, const PublicKey& expected, ByteSpan alpn) {
  if (alpn.empty() || alpn.size() > kMaxAlpnLength) {
    return fail(Errc::InvalidArgument, "ALPN must be 1 to " + std::to_string(kMaxAlpnLength) +
                                           " bytes, got " + std::to_string(alpn.size()));
  }
  std::unique_ptr<TlsSession> tls(new TlsSession(std::move(identity)));
  tls->expected_ = expected;
  auto ok = tls->init(GNUTLS_CLIENT);
  if (!ok) return Unexpected{std::move(ok).error()};
  if (int rv = ngtcp2_crypto_gnutls_configure_client_session(tls->session_); rv != 0) {
    return fail(Errc::Io, "ngtcp2_crypto_gnutls_configure_client_session failed");
  }
  auto set = set_alpn_protocols(tls->session_, {alpn}, GNUTLS_ALPN_MANDATORY);
  if (!set) return Unexpected{std::move(set).error()};
  return tls;
}

Result<std::unique_ptr<TlsSession>> TlsSession::server(
    std::shared_ptr<const TlsIdentity> identity, const std::vector<Bytes>& alpns) {
  std::unique_ptr<TlsSession> tls(new TlsSession(std::move(identity)));
  auto ok = tls->init(GNUTLS_SERVER);
  if (!ok) return Unexpected{std::move(ok).error()};
  if (int rv = ngtcp2_crypto_gnutls_configure_server_session(tls->session_); rv != 0) {
    return fail(Errc::Io, "ngtcp2_crypto_gnutls_configure_server_session failed");
  }
  gnutls_certificate_server_set_request(tls->session_, GNUTLS_CERT_REQUIRE);
  gnutls_handshake_set_hook_function(tls->session_, GNUTLS_HANDSHAKE_CLIENT_HELLO,
                                     GNUTLS_HOOK_POST, &TlsSession::client_hello_callback);
  std::vector<ByteSpan> protocols;
  for (const auto& alpn : alpns) {
    if (!alpn.empty() && alpn.size() <= kMaxAlpnLength && protocols.size() < kMaxServerAlpns) {
      protocols.emplace_back(alpn);
    }
  }
  // With nothing registered, offer a value no client can ask for so that the handshake fails.
  static const std::uint8_t kNone[] = {0};
  if (protocols.empty()) protocols.emplace_back(kNone);
  auto set = set_alpn_protocols(tls->session_, protocols, GNUTLS_ALPN_MANDATORY);
  if (!set) return Unexpected{std::move(set).error()};
  return tls;
}

Bytes TlsSession::selected_alpn() const {
  gnutls_datum_t selected{};
  if (gnutls_alpn_get_selected_protocol(session_, &selected) < 0) return {};
  return Bytes(selected.data, selected.data + selected.size);
}

int TlsSession::verify_callback(gnutls_session_t session) {
  auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  return static_cast<TlsSession*>(ref->user_data)->verify();
}

int TlsSession::client_hello_callback(gnutls_session_t session, unsigned /*type*/,
                                      unsigned /*when*/, unsigned /*incoming*/,
                                      const gnutls_datum_t* /*message*/) {
  auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  auto* self = static_cast<TlsSession*>(ref->user_data);
  // RFC 9001 8.2: a ClientHello without quic_transport_parameters must be refused. ngtcp2 0.12
  // does not check it: the handshake went on without the client's parameters and the server's
  // next write died on an assertion (`conn->negotiated_version` in conn_write_pkt), so any
  // client could abort the process with one Initial (found by fuzz_quic_receive).
  if (self->conn_ != nullptr && ngtcp2_conn_get_remote_transport_params(self->conn_) == nullptr) {
    self->refusal_ = "client sent no QUIC transport parameters";
    return GNUTLS_E_MISSING_EXTENSION;
  }
  return 0;
}

// Accept exactly one Ed25519 raw public key; on the client it must be the dialled node id.
// Returning non-zero aborts the handshake with a TLS alert.
int TlsSession::verify() {
  if (gnutls_certificate_type_get2(session_, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_RAWPK) {
    refusal_ = "peer did not present a raw public key";
    return -1;
  }
  unsigned count = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session_, &count);
  constexpr std::size_t kPrefix = sizeof kEd25519SpkiPrefix;
  if (certs == nullptr || count != 1 || certs[0].size != kPrefix + 32 ||
      std::memcmp(certs[0].data, kEd25519SpkiPrefix, kPrefix) != 0) {
    refusal_ = "peer key is not a single Ed25519 SubjectPublicKeyInfo";
    return -1;
  }
  std::array<std::uint8_t, 32> key{};
  std::copy_n(certs[0].data + kPrefix, 32, key.begin());
  PublicKey presented(key);
  if (expected_ && presented != *expected_) {
    refusal_ = "peer presented key " + presented.to_hex() + ", expected " + expected_->to_hex();
    return -1;
  }
  peer_key_ = presented;
  return 0;
}

}  // namespace p2panda::net

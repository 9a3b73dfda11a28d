// TlsIdentity: this node's TLS credentials, an Ed25519 raw public key (RFC 7250) made from the
// node's PrivateKey, plus the fixed GnuTLS priority (TLS 1.3 only, ed25519 only, RPK only).
//
// Immutable after create(); shared by every TlsSession of one endpoint. Endpoint thread only
// (GnuTLS credentials are not documented as thread-safe for concurrent session setup).
#pragma once

#include <memory>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>

namespace p2panda::net {

// The GnuTLS priority string: see docs/net.md for why each part is there.
inline constexpr const char* kTlsPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:-SIGN-ALL:+SIGN-EDDSA-ED25519:-CTYPE-ALL:"
    "+CTYPE-RAWPK:%DISABLE_TLS13_COMPAT_MODE";

class TlsIdentity {
 public:
  // Errors: Io when GnuTLS refuses the key or the priority string (message says
  // which call failed).
  static Result<std::shared_ptr<TlsIdentity>> create(const PrivateKey& key);

  TlsIdentity(const TlsIdentity&) = delete;
  TlsIdentity& operator=(const TlsIdentity&) = delete;
  ~TlsIdentity();

  gnutls_certificate_credentials_t credentials() const { return credentials_; }
  gnutls_priority_t priority() const { return priority_; }
  const PublicKey& public_key() const { return public_key_; }

 private:
  TlsIdentity() = default;

  gnutls_certificate_credentials_t credentials_ = nullptr;
  gnutls_priority_t priority_ = nullptr;
  PublicKey public_key_;
};

// The DER SubjectPublicKeyInfo of an Ed25519 key is this 12-byte prefix followed by the 32 key
// bytes (RFC 8410); a raw public key certificate is exactly that structure.
inline constexpr std::uint8_t kEd25519SpkiPrefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                        0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

}  // namespace p2panda::net

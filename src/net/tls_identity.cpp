#include "net/tls_identity.hpp"

#include <string>

namespace p2panda::net {
namespace {

Unexpected gnutls_failure(const char* what, int rv) {
  return fail(Errc::Io, std::string(what) + ": " + gnutls_strerror(rv));
}

gnutls_datum_t datum(const std::uint8_t* data, std::size_t size) {
  return gnutls_datum_t{const_cast<unsigned char*>(data), static_cast<unsigned>(size)};
}

}  // namespace

TlsIdentity::~TlsIdentity() {
  if (priority_ != nullptr) gnutls_priority_deinit(priority_);
  if (credentials_ != nullptr) gnutls_certificate_free_credentials(credentials_);
}

Result<std::shared_ptr<TlsIdentity>> TlsIdentity::create(const PrivateKey& key) {
  std::shared_ptr<TlsIdentity> identity(new TlsIdentity());
  identity->public_key_ = key.public_key();
  int rv = gnutls_certificate_allocate_credentials(&identity->credentials_);
  if (rv < 0) return gnutls_failure("gnutls_certificate_allocate_credentials", rv);
  rv = gnutls_priority_init2(&identity->priority_, kTlsPriority, nullptr, 0);
  if (rv < 0) return gnutls_failure("gnutls_priority_init2", rv);

  auto x = datum(key.public_key().data(), 32);
  auto k = datum(key.seed().data(), 32);
  gnutls_privkey_t privkey = nullptr;
  gnutls_pubkey_t pubkey = nullptr;
  rv = gnutls_privkey_init(&privkey);
  if (rv < 0) return gnutls_failure("gnutls_privkey_init", rv);
  rv = gnutls_privkey_import_ecc_raw(privkey, GNUTLS_ECC_CURVE_ED25519, &x, nullptr, &k);
  if (rv < 0) {
    gnutls_privkey_deinit(privkey);
    return gnutls_failure("gnutls_privkey_import_ecc_raw", rv);
  }
  rv = gnutls_pubkey_init(&pubkey);
  if (rv == 0) rv = gnutls_pubkey_import_ecc_raw(pubkey, GNUTLS_ECC_CURVE_ED25519, &x, nullptr);
  gnutls_pcert_st pcert{};
  if (rv == 0) rv = gnutls_pcert_import_rawpk(&pcert, pubkey, 0);  // pcert now owns pubkey
  if (rv < 0) {
    if (pubkey != nullptr) gnutls_pubkey_deinit(pubkey);
    gnutls_privkey_deinit(privkey);
    return gnutls_failure("raw public key import", rv);
  }
  // The credentials take ownership of pcert's contents and of privkey.
  rv = gnutls_certificate_set_key(identity->credentials_, nullptr, 0, &pcert, 1, privkey);
  if (rv < 0) {
    gnutls_pcert_deinit(&pcert);
    gnutls_privkey_deinit(privkey);
    return gnutls_failure("gnutls_certificate_set_key", rv);
  }
  return identity;
}

}  // namespace p2panda::net

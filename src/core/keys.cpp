#include <p2panda/keys.hpp>

#include <sodium.h>

#include <cstdlib>

namespace p2panda {
namespace {

// libsodium must be initialised once before use; sodium_init is thread-safe and idempotent.
void ensure_sodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) std::abort();  // no CSPRNG: nothing secure can be done
    return true;
  }();
  (void)ready;
}

}  // namespace

Result<void> PublicKey::verify(ByteSpan message, const Signature& signature) const {
  ensure_sodium();
  // libsodium 1.0.18 (without ED25519_COMPAT) rejects non-canonical S, small-order R and A and
  // non-canonical A, which matches ed25519-dalek's verify_strict for every input we know of.
  if (crypto_sign_verify_detached(signature.data(), message.data(), message.size(), data()) != 0) {
    return fail(Errc::SignatureInvalid, "ed25519 signature does not verify under " + to_hex());
  }
  return {};
}

bool PublicKey::is_valid_point() const {
  ensure_sodium();
  return crypto_core_ed25519_is_valid_point(data()) == 1;
}

PrivateKey::PrivateKey(const std::array<std::uint8_t, 32>& seed) : seed_(seed) {
  ensure_sodium();
  std::array<std::uint8_t, 32> public_bytes;
  crypto_sign_seed_keypair(public_bytes.data(), expanded_.data(), seed_.data());
  public_key_ = PublicKey(public_bytes);
}

PrivateKey PrivateKey::generate() {
  ensure_sodium();
  std::array<std::uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  PrivateKey key(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

Result<PrivateKey> PrivateKey::from_bytes(ByteSpan seed) {
  if (seed.size() != 32) {
    return fail(Errc::InvalidLength,
                "an ed25519 seed has 32 bytes, got " + std::to_string(seed.size()));
  }
  std::array<std::uint8_t, 32> array;
  std::copy(seed.begin(), seed.end(), array.begin());
  PrivateKey key(array);
  sodium_memzero(array.data(), array.size());
  return key;
}

Result<PrivateKey> PrivateKey::from_hex(std::string_view text) {
  auto bytes = p2panda::from_hex(text);
  if (!bytes) return Unexpected{std::move(bytes).error()};
  auto key = from_bytes(*bytes);
  sodium_memzero(bytes->data(), bytes->size());
  return key;
}

PrivateKey::PrivateKey(const PrivateKey& other) = default;
PrivateKey& PrivateKey::operator=(const PrivateKey& other) = default;

PrivateKey::~PrivateKey() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(expanded_.data(), expanded_.size());
}

Signature PrivateKey::sign(ByteSpan message) const {
  std::array<std::uint8_t, 64> signature;
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                       expanded_.data());
  return Signature(signature);
}

std::string PrivateKey::to_hex() const { return p2panda::to_hex(seed_); }

}  // namespace p2panda

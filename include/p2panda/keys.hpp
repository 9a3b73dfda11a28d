// Ed25519 identity: PrivateKey signs, PublicKey (= node id and log author) verifies, Signature is
// the 64-byte result. Backed by libsodium. Verification is strict, like ed25519-dalek's
// verify_strict: non-canonical S, small-order R or A, and non-canonical points are rejected.
// Values are safe to share read-only between threads; a PrivateKey zeroes its secret on destruction.
#pragma once

#include <array>
#include <cstdint>

#include <p2panda/fixed_bytes.hpp>

namespace p2panda {

class Signature : public FixedBytes<Signature, 64> {
 public:
  using FixedBytes::FixedBytes;
};

class PublicKey : public FixedBytes<PublicKey, 32> {
 public:
  using FixedBytes::FixedBytes;

  // Errors: SignatureInvalid when `signature` is not a valid strict Ed25519 signature of `message`
  // under this key (including when this key is not a valid, non-small-order curve point).
  Result<void> verify(ByteSpan message, const Signature& signature) const;

  // True when the bytes are a canonical, non-small-order Ed25519 point.
  bool is_valid_point() const;
};

using NodeId = PublicKey;

class PrivateKey {
 public:
  // A fresh key from libsodium's CSPRNG.
  static PrivateKey generate();

  // The 32-byte Ed25519 seed (RFC 8032 "private key"). Errors: InvalidLength.
  static Result<PrivateKey> from_bytes(ByteSpan seed);
  static Result<PrivateKey> from_hex(std::string_view text);

  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  ~PrivateKey();

  const PublicKey& public_key() const { return public_key_; }
  Signature sign(ByteSpan message) const;

  // The seed. Handle with care: whoever has it can sign as this node.
  const std::array<std::uint8_t, 32>& seed() const { return seed_; }
  std::string to_hex() const;

 private:
  explicit PrivateKey(const std::array<std::uint8_t, 32>& seed);

  std::array<std::uint8_t, 32> seed_{};
  std::array<std::uint8_t, 64> expanded_{};  // libsodium secret key: seed || public key
  PublicKey public_key_;
};

}  // namespace p2panda

template <>
struct std::hash<p2panda::PublicKey> : p2panda::FixedBytesHash {};

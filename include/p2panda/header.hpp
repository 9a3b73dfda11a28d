// Header: the signed, hashed part of a p2panda operation, byte-compatible with p2panda-core 0.7.
//
// Wire form: a definite-length CBOR array `[version, public_key, signature?, payload_size,
// payload_hash?, seq_num, backlink?, extensions?]` with absent fields omitted. The signature is
// Ed25519 over the same array without the signature element; the operation id is BLAKE3 of the
// full signed encoding. See docs/formats.md. Plain value: any thread.
#pragma once

#include <cstdint>
#include <optional>

#include <p2panda/hash.hpp>
#include <p2panda/ids.hpp>
#include <p2panda/keys.hpp>

namespace p2panda {

class Header {
 public:
  static constexpr std::uint16_t kVersion = 1;

  std::uint16_t version = kVersion;
  PublicKey public_key;
  std::optional<Signature> signature;
  std::uint32_t payload_size = 0;
  std::optional<Hash> payload_hash;
  SeqNum seq_num;
  std::optional<Hash> backlink;
  // One canonical CBOR item, kept verbatim so that fields this version does not know stay covered
  // by the signature and the id. The Node API puts NodeExtensions here (extensions.hpp).
  std::optional<Bytes> extensions;

  // Canonical CBOR of the header, with the signature when present.
  Bytes encode() const;
  // Canonical CBOR without the signature: the bytes that are signed.
  Bytes encode_unsigned() const;
  // BLAKE3 of encode(): the operation id.
  Hash id() const;

  // Sets public_key to the key's public key, then signs encode_unsigned().
  void sign(const PrivateKey& key);

  // Errors: SignatureMissing, SignatureInvalid.
  Result<void> verify_signature() const;

  // Strict decode of one header; see docs/formats.md for the rules. Unsigned headers decode (with
  // no signature) so that validation can name the missing signature.
  // Errors: every Cbor* code (with offset), HeaderMalformed (wrong field count, widths, types or
  // excess fields), InvalidLength.
  static Result<Header> decode(ByteSpan bytes);

  friend bool operator==(const Header&, const Header&) = default;
};

// The header rules of p2panda 0.7, in its order: signature present and valid, version 1, payload
// hash present iff payload_size > 0, backlink present iff seq_num > 0.
// Errors: SignatureMissing, SignatureInvalid, VersionUnsupported, PayloadHashMissing,
// PayloadHashUnexpected, BacklinkMissing, BacklinkUnexpected.
Result<void> validate_header(const Header& header);

}  // namespace p2panda

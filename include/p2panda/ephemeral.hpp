// EphemeralMessage: a signed, unpersisted message for ephemeral (gossip-only) streams, in p2panda
// 0.7's format: CBOR `[1, public_key, signature, timestamp_us, lamport, body]`, where body is the
// application message as an embedded CBOR item (not a byte string) and the signature covers the
// same array without the signature. (timestamp, lamport) is a hybrid clock that makes each message
// unique, so gossip deduplication never swallows a repeated payload. Plain value: any thread.
#pragma once

#include <cstdint>

#include <p2panda/ids.hpp>
#include <p2panda/keys.hpp>

namespace p2panda {

class EphemeralMessage {
 public:
  static constexpr std::uint64_t kVersion = 1;

  // Signs `body`. Errors: Cbor* when `body` is not exactly one canonical CBOR item.
  static Result<EphemeralMessage> create(const PrivateKey& key, Timestamp timestamp,
                                         std::uint64_t lamport, ByteSpan body);

  // Strict decode; does not verify. Errors: Cbor*, EphemeralMalformed, VersionUnsupported.
  static Result<EphemeralMessage> decode(ByteSpan bytes);

  // Errors: SignatureInvalid.
  Result<void> verify() const;

  Bytes encode() const;
  Bytes encode_unsigned() const;

  const PublicKey& author() const { return author_; }
  const Signature& signature() const { return signature_; }
  Timestamp timestamp() const { return timestamp_; }
  std::uint64_t lamport() const { return lamport_; }
  const Bytes& body() const { return body_; }  // one canonical CBOR item

 private:
  EphemeralMessage() = default;
  Bytes encode_fields(bool with_signature) const;

  PublicKey author_;
  Signature signature_;
  Timestamp timestamp_;
  std::uint64_t lamport_ = 0;
  Bytes body_;
};

}  // namespace p2panda

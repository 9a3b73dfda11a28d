#include <p2panda/ephemeral.hpp>

#include "core/cbor.hpp"

namespace p2panda {

Bytes EphemeralMessage::encode_fields(bool with_signature) const {
  cbor::Writer writer;
  writer.array(with_signature ? 6 : 5).uint(kVersion).bytes(author_.bytes());
  if (with_signature) writer.bytes(signature_.bytes());
  writer.uint(timestamp_.value()).uint(lamport_).raw(body_);
  return std::move(writer).take();
}

Bytes EphemeralMessage::encode() const { return encode_fields(true); }
Bytes EphemeralMessage::encode_unsigned() const { return encode_fields(false); }

Result<EphemeralMessage> EphemeralMessage::create(const PrivateKey& key, Timestamp timestamp,
                                                  std::uint64_t lamport, ByteSpan body) {
  auto valid = cbor::validate_item(body);
  if (!valid) return Unexpected{std::move(valid).error()};
  EphemeralMessage message;
  message.author_ = key.public_key();
  message.timestamp_ = timestamp;
  message.lamport_ = lamport;
  message.body_.assign(body.begin(), body.end());
  message.signature_ = key.sign(message.encode_unsigned());
  return message;
}

Result<EphemeralMessage> EphemeralMessage::decode(ByteSpan bytes) {
  cbor::Reader reader(bytes);
  auto fields = reader.read_array();
  if (!fields) return Unexpected{std::move(fields).error()};
  if (*fields != 6) {
    return fail(Errc::EphemeralMalformed,
                "ephemeral message has " + std::to_string(*fields) + " fields, expected 6");
  }
  auto version = reader.read_uint();
  if (!version) return Unexpected{std::move(version).error()};
  if (*version != kVersion) {
    return fail(Errc::VersionUnsupported,
                "ephemeral message version " + std::to_string(*version) + ", only 1 is supported");
  }
  EphemeralMessage message;
  auto author = reader.read_bytes();
  if (!author) return Unexpected{std::move(author).error()};
  auto key = PublicKey::from_bytes(*author);
  if (!key) return Unexpected{std::move(key).error()};
  message.author_ = *key;
  auto signature_bytes = reader.read_bytes();
  if (!signature_bytes) return Unexpected{std::move(signature_bytes).error()};
  auto signature = Signature::from_bytes(*signature_bytes);
  if (!signature) return Unexpected{std::move(signature).error()};
  message.signature_ = *signature;
  auto timestamp = reader.read_uint();
  if (!timestamp) return Unexpected{std::move(timestamp).error()};
  message.timestamp_ = Timestamp(*timestamp);
  auto lamport = reader.read_uint();
  if (!lamport) return Unexpected{std::move(lamport).error()};
  message.lamport_ = *lamport;
  auto body = reader.read_item();
  if (!body) return Unexpected{std::move(body).error()};
  message.body_.assign(body->begin(), body->end());
  auto end = reader.expect_end();
  if (!end) return Unexpected{std::move(end).error()};
  return message;
}

Result<void> EphemeralMessage::verify() const {
  return author_.verify(encode_unsigned(), signature_);
}

}  // namespace p2panda

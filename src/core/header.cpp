#include <p2panda/header.hpp>

#include <limits>

#include "core/cbor.hpp"

namespace p2panda {
namespace {

Bytes encode_header(const Header& header, bool with_signature) {
  const bool signature = with_signature && header.signature.has_value();
  const std::uint64_t fields = 4 + (signature ? 1 : 0) + (header.payload_hash ? 1 : 0) +
                               (header.backlink ? 1 : 0) + (header.extensions ? 1 : 0);
  Bytes out;
  out.reserve(192 + (header.extensions ? header.extensions->size() : 0));
  cbor::Writer writer(std::move(out));
  writer.array(fields).uint(header.version).bytes(header.public_key.bytes());
  if (signature) writer.bytes(header.signature->bytes());
  writer.uint(header.payload_size);
  if (header.payload_hash) writer.bytes(header.payload_hash->bytes());
  writer.uint(header.seq_num.value());
  if (header.backlink) writer.bytes(header.backlink->bytes());
  if (header.extensions) writer.raw(*header.extensions);
  return std::move(writer).take();
}

Unexpected malformed(std::size_t offset, const std::string& what) {
  return fail(Errc::HeaderMalformed, "header: " + what + " at offset " + std::to_string(offset));
}

template <class T>
Result<T> read_fixed(cbor::Reader& reader, const char* field) {
  const std::size_t at = reader.offset();
  auto bytes = reader.read_bytes();
  if (!bytes) return Unexpected{std::move(bytes).error()};
  if (bytes->size() != T::kSize) {
    return malformed(at, std::string(field) + " must have " + std::to_string(T::kSize) +
                             " bytes, has " + std::to_string(bytes->size()));
  }
  return T::from_bytes(*bytes);
}

Result<std::uint64_t> read_bounded(cbor::Reader& reader, std::uint64_t max, const char* field) {
  const std::size_t at = reader.offset();
  auto value = reader.read_uint();
  if (!value) return value;
  if (*value > max) {
    return malformed(at, std::string(field) + " " + std::to_string(*value) + " exceeds " +
                             std::to_string(max));
  }
  return value;
}

}  // namespace

Bytes Header::encode() const { return encode_header(*this, true); }
Bytes Header::encode_unsigned() const { return encode_header(*this, false); }
Hash Header::id() const { return Hash::digest(encode()); }

void Header::sign(const PrivateKey& key) {
  public_key = key.public_key();
  signature = key.sign(encode_unsigned());
}

Result<void> Header::verify_signature() const {
  if (!signature) return fail(Errc::SignatureMissing, "header carries no signature");
  return public_key.verify(encode_unsigned(), *signature);
}

Result<Header> Header::decode(ByteSpan bytes) {
  cbor::Reader reader(bytes);
  auto fields = reader.read_array();
  if (!fields) return Unexpected{std::move(fields).error()};
  if (*fields < 4 || *fields > 8) {
    return malformed(0, "array of " + std::to_string(*fields) + " fields, expected 4 to 8");
  }
  Header header;
  std::uint64_t read = 0;
  auto version = read_bounded(reader, std::numeric_limits<std::uint16_t>::max(), "version");
  if (!version) return Unexpected{std::move(version).error()};
  header.version = static_cast<std::uint16_t>(*version);
  auto key = read_fixed<PublicKey>(reader, "public key");
  if (!key) return Unexpected{std::move(key).error()};
  header.public_key = *key;
  read = 2;

  auto next = reader.peek();
  if (!next) return Unexpected{std::move(next).error()};
  if (*next == cbor::Major::Bytes) {
    auto signature = read_fixed<Signature>(reader, "signature");
    if (!signature) return Unexpected{std::move(signature).error()};
    header.signature = *signature;
    ++read;
  }

  auto size = read_bounded(reader, std::numeric_limits<std::uint32_t>::max(), "payload size");
  if (!size) return Unexpected{std::move(size).error()};
  header.payload_size = static_cast<std::uint32_t>(*size);
  ++read;
  // Optional fields are recognised by their type (a byte string where an integer or the
  // extensions array would follow), not by the values before them. Every valid header decodes
  // exactly as in p2panda; an invalid one still decodes, so validate_header can name the rule it
  // breaks (PayloadHashMissing, BacklinkUnexpected, ...) instead of a bare type mismatch.
  auto next_is_bytes = [&reader]() {
    auto major = reader.peek();
    return major && *major == cbor::Major::Bytes;
  };
  if (read < *fields && next_is_bytes()) {
    auto hash = read_fixed<Hash>(reader, "payload hash");
    if (!hash) return Unexpected{std::move(hash).error()};
    header.payload_hash = *hash;
    ++read;
  }

  auto seq = read_bounded(reader, std::numeric_limits<std::uint32_t>::max(), "seq num");
  if (!seq) return Unexpected{std::move(seq).error()};
  header.seq_num = SeqNum(static_cast<std::uint32_t>(*seq));
  ++read;
  // A backlink is a byte string; p2panda's extensions are never one (absent, or an array).
  if (read < *fields && next_is_bytes()) {
    auto backlink = read_fixed<Hash>(reader, "backlink");
    if (!backlink) return Unexpected{std::move(backlink).error()};
    header.backlink = *backlink;
    ++read;
  }

  if (read > *fields) {
    return malformed(0, "array declares " + std::to_string(*fields) + " fields but " +
                            std::to_string(read) + " are required");
  }
  if (*fields - read > 1) {
    return malformed(reader.offset(),
                     std::to_string(*fields - read - 1) + " excess field(s) after extensions");
  }
  if (*fields - read == 1) {
    auto extensions = reader.read_item();
    if (!extensions) return Unexpected{std::move(extensions).error()};
    header.extensions = Bytes(extensions->begin(), extensions->end());
  }
  auto end = reader.expect_end();
  if (!end) return Unexpected{std::move(end).error()};
  return header;
}

Result<void> validate_header(const Header& header) {
  auto signature = header.verify_signature();
  if (!signature) return signature;
  if (header.version != Header::kVersion) {
    return fail(Errc::VersionUnsupported,
                "header version " + std::to_string(header.version) + ", only 1 is supported");
  }
  if (header.payload_size > 0 && !header.payload_hash) {
    return fail(Errc::PayloadHashMissing, "payload_size > 0 requires a payload hash");
  }
  if (header.payload_size == 0 && header.payload_hash) {
    return fail(Errc::PayloadHashUnexpected, "payload_size 0 forbids a payload hash");
  }
  if (!header.seq_num.is_first() && !header.backlink) {
    return fail(Errc::BacklinkMissing, "seq_num > 0 requires a backlink");
  }
  if (header.seq_num.is_first() && header.backlink) {
    return fail(Errc::BacklinkUnexpected, "seq_num 0 forbids a backlink");
  }
  return {};
}

}  // namespace p2panda

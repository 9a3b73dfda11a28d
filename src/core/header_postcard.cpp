#include "core/header_postcard.hpp"

#include <limits>

#include <p2panda/extensions.hpp>

namespace p2panda {
namespace {

constexpr std::uint64_t kExtensionFields = 5;

template <class T>
Result<T> read_fixed(postcard::Reader& reader, const char* field) {
  const std::size_t at = reader.offset();
  auto bytes = reader.bytes();
  if (!bytes) return Unexpected{std::move(bytes).error()};
  if (bytes->size() != T::kSize) {
    return fail(Errc::HeaderMalformed, std::string(field) + " has " +
                                           std::to_string(bytes->size()) + " bytes at offset " +
                                           std::to_string(at));
  }
  return T::from_bytes(*bytes);
}

}  // namespace

Result<void> write_header_postcard(postcard::Writer& writer, const Header& header) {
  if (!header.signature) return fail(Errc::SignatureMissing, "postcard headers must be signed");
  auto extensions = node_extensions(header);
  if (!extensions) return Unexpected{std::move(extensions).error()};
  if (extensions->variant != NodeExtensions::Variant::Basic) {
    return fail(Errc::ExtensionsUnsupported,
                "only Basic extensions have a postcard form in p2panda 0.7's live mode");
  }
  if (!extensions->extra_fields.empty()) {
    return fail(Errc::ExtensionsUnsupported,
                "unknown extension fields cannot be written in postcard form");
  }
  const std::uint64_t fields =
      6 + (header.payload_hash ? 1 : 0) + (header.backlink ? 1 : 0);
  writer.varint(fields).varint(header.version).bytes(header.public_key.bytes());
  writer.bytes(header.signature->bytes()).varint(header.payload_size);
  if (header.payload_hash) writer.bytes(header.payload_hash->bytes());
  writer.varint(header.seq_num.value());
  if (header.backlink) writer.bytes(header.backlink->bytes());
  writer.varint(kExtensionFields)
      .varint(NodeExtensions::kVersion)
      .varint(static_cast<std::uint16_t>(NodeExtensions::Variant::Basic))
      .bytes(extensions->log_id.bytes())
      .varint(extensions->timestamp.value())
      .boolean(extensions->prune);
  return {};
}

Result<Header> read_header_postcard(postcard::Reader& reader) {
  const std::size_t start = reader.offset();
  auto fields = reader.varint();
  if (!fields) return Unexpected{std::move(fields).error()};
  Header header;
  auto version = reader.varint(std::numeric_limits<std::uint16_t>::max());
  if (!version) return Unexpected{std::move(version).error()};
  header.version = static_cast<std::uint16_t>(*version);
  auto key = read_fixed<PublicKey>(reader, "public key");
  if (!key) return Unexpected{std::move(key).error()};
  header.public_key = *key;
  auto signature = read_fixed<Signature>(reader, "signature");
  if (!signature) return Unexpected{std::move(signature).error()};
  header.signature = *signature;
  auto size = reader.varint(std::numeric_limits<std::uint32_t>::max());
  if (!size) return Unexpected{std::move(size).error()};
  header.payload_size = static_cast<std::uint32_t>(*size);
  if (header.payload_size > 0) {
    auto hash = read_fixed<Hash>(reader, "payload hash");
    if (!hash) return Unexpected{std::move(hash).error()};
    header.payload_hash = *hash;
  }
  auto seq = reader.varint(std::numeric_limits<std::uint32_t>::max());
  if (!seq) return Unexpected{std::move(seq).error()};
  header.seq_num = SeqNum(static_cast<std::uint32_t>(*seq));
  if (!header.seq_num.is_first()) {
    auto backlink = read_fixed<Hash>(reader, "backlink");
    if (!backlink) return Unexpected{std::move(backlink).error()};
    header.backlink = *backlink;
  }
  const std::uint64_t expected = 6 + (header.payload_hash ? 1 : 0) + (header.backlink ? 1 : 0);
  if (*fields != expected) {
    return fail(Errc::HeaderMalformed, "postcard header at offset " + std::to_string(start) +
                                           " declares " + std::to_string(*fields) +
                                           " fields, its contents need " +
                                           std::to_string(expected));
  }
  const std::size_t extensions_at = reader.offset();
  auto count = reader.varint();
  if (!count) return Unexpected{std::move(count).error()};
  if (*count != kExtensionFields) {
    return fail(Errc::ExtensionsUnsupported,
                "postcard extensions with " + std::to_string(*count) + " fields at offset " +
                    std::to_string(extensions_at));
  }
  auto extensions_version = reader.varint();
  if (!extensions_version) return Unexpected{std::move(extensions_version).error()};
  auto variant = reader.varint();
  if (!variant) return Unexpected{std::move(variant).error()};
  if (*extensions_version != NodeExtensions::kVersion || *variant != 0) {
    return fail(Errc::ExtensionsUnsupported,
                "extensions version " + std::to_string(*extensions_version) + " variant " +
                    std::to_string(*variant));
  }
  NodeExtensions extensions;
  auto log_id = read_fixed<LogId>(reader, "log id");
  if (!log_id) return Unexpected{std::move(log_id).error()};
  extensions.log_id = *log_id;
  auto timestamp = reader.varint();
  if (!timestamp) return Unexpected{std::move(timestamp).error()};
  extensions.timestamp = Timestamp(*timestamp);
  auto prune = reader.boolean();
  if (!prune) return Unexpected{std::move(prune).error()};
  extensions.prune = *prune;
  header.extensions = extensions.encode();
  return header;
}

}  // namespace p2panda

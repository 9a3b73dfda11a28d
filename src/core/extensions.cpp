#include <p2panda/extensions.hpp>

#include <algorithm>

#include "core/cbor.hpp"

namespace p2panda {
namespace {

constexpr std::uint64_t kBasicFields = 5;   // version, variant, log id, timestamp, prune
constexpr std::uint64_t kCausalFields = 6;  // ... and the dependencies

Unexpected malformed(std::size_t offset, const std::string& what) {
  return fail(Errc::ExtensionsMalformed,
              "extensions: " + what + " at offset " + std::to_string(offset));
}

// A strictly ascending array of 32-byte ids.
Result<std::vector<Hash>> read_dependencies(cbor::Reader& reader) {
  const std::size_t at = reader.offset();
  auto count = reader.read_array();
  if (!count) return Unexpected{std::move(count).error()};
  if (*count > NodeExtensions::kMaxDependencies) {
    return malformed(at, std::to_string(*count) + " dependencies, at most " +
                             std::to_string(NodeExtensions::kMaxDependencies));
  }
  std::vector<Hash> dependencies;
  for (std::uint64_t i = 0; i < *count; ++i) {
    const std::size_t item_at = reader.offset();
    auto bytes = reader.read_bytes();
    if (!bytes) return Unexpected{std::move(bytes).error()};
    auto hash = Hash::from_bytes(*bytes);
    if (!hash) return malformed(item_at, "dependency is not a 32-byte id");
    if (!dependencies.empty() && !(dependencies.back() < *hash)) {
      return malformed(item_at, "dependencies must be strictly ascending");
    }
    dependencies.push_back(*hash);
  }
  return dependencies;
}

}  // namespace

Bytes NodeExtensions::encode() const {
  cbor::Writer writer;
  const bool causal = variant == Variant::Causal;
  writer.array((causal ? kCausalFields : kBasicFields) + extra_fields.size())
      .uint(kVersion)
      .uint(static_cast<std::uint16_t>(variant))
      .bytes(log_id.bytes())
      .uint(timestamp.value())
      .boolean(prune);
  if (causal) {
    writer.array(dependencies.size());
    for (const Hash& dependency : dependencies) writer.bytes(dependency.bytes());
  }
  for (const auto& field : extra_fields) writer.raw(field);
  return std::move(writer).take();
}

Result<NodeExtensions> NodeExtensions::decode(ByteSpan bytes) {
  cbor::Reader reader(bytes);
  auto fields = reader.read_array();
  if (!fields) return Unexpected{std::move(fields).error()};
  if (*fields < 2) return malformed(0, "array of " + std::to_string(*fields) + " fields");
  auto version = reader.read_uint();
  if (!version) return Unexpected{std::move(version).error()};
  if (*version != kVersion) {
    return fail(Errc::ExtensionsUnsupported,
                "extensions version " + std::to_string(*version) + ", only 1 is supported");
  }
  auto variant = reader.read_uint();
  if (!variant) return Unexpected{std::move(variant).error()};
  NodeExtensions extensions;
  std::uint64_t known_fields;
  if (*variant == static_cast<std::uint16_t>(Variant::Basic)) {
    extensions.variant = Variant::Basic;
    known_fields = kBasicFields;
  } else if (*variant == static_cast<std::uint16_t>(Variant::Causal)) {
    extensions.variant = Variant::Causal;
    known_fields = kCausalFields;
  } else {
    return fail(Errc::ExtensionsUnsupported,
                "extensions variant " + std::to_string(*variant) + " is not known");
  }
  if (*fields < known_fields) {
    return malformed(0, "variant " + std::to_string(*variant) + " needs " +
                            std::to_string(known_fields) + " fields, found " +
                            std::to_string(*fields));
  }
  const std::size_t log_at = reader.offset();
  auto log_id = reader.read_bytes();
  if (!log_id) return Unexpected{std::move(log_id).error()};
  if (log_id->size() != LogId::kSize) {
    return malformed(log_at, "log id has " + std::to_string(log_id->size()) + " bytes");
  }
  extensions.log_id = *LogId::from_bytes(*log_id);
  auto timestamp = reader.read_uint();
  if (!timestamp) return Unexpected{std::move(timestamp).error()};
  extensions.timestamp = Timestamp(*timestamp);
  auto prune = reader.read_bool();
  if (!prune) return Unexpected{std::move(prune).error()};
  extensions.prune = *prune;
  if (extensions.variant == Variant::Causal) {
    auto dependencies = read_dependencies(reader);
    if (!dependencies) return Unexpected{std::move(dependencies).error()};
    extensions.dependencies = std::move(*dependencies);
  }
  for (std::uint64_t i = known_fields; i < *fields; ++i) {
    auto item = reader.read_item();
    if (!item) return Unexpected{std::move(item).error()};
    extensions.extra_fields.emplace_back(item->begin(), item->end());
  }
  auto end = reader.expect_end();
  if (!end) return Unexpected{std::move(end).error()};
  return extensions;
}

Result<NodeExtensions> node_extensions(const Header& header) {
  if (!header.extensions) {
    return fail(Errc::ExtensionsMissing, "header carries no node extensions");
  }
  return NodeExtensions::decode(*header.extensions);
}

Result<void> validate_topic(const Header& header, const Topic& topic) {
  auto extensions = node_extensions(header);
  if (!extensions) return Unexpected{std::move(extensions).error()};
  const LogId expected = LogId::from_topic(topic);
  if (extensions->log_id != expected) {
    return fail(Errc::LogIdMismatch, "log id " + extensions->log_id.to_hex() +
                                         " is not BLAKE3(topic) = " + expected.to_hex());
  }
  return {};
}

Operation create_node_operation(const PrivateKey& key, NodeOperationArgs args) {
  NodeExtensions extensions;
  extensions.log_id = LogId::from_topic(args.topic);
  extensions.timestamp = args.timestamp;
  extensions.prune = args.prune;
  if (args.dependencies) {
    extensions.variant = NodeExtensions::Variant::Causal;
    extensions.dependencies = std::move(*args.dependencies);
    std::sort(extensions.dependencies.begin(), extensions.dependencies.end());
    extensions.dependencies.erase(
        std::unique(extensions.dependencies.begin(), extensions.dependencies.end()),
        extensions.dependencies.end());
  }
  Header header;
  header.seq_num = args.seq_num;
  header.backlink = args.backlink;
  header.extensions = extensions.encode();
  return Operation::create(key, std::move(header), std::move(args.body));
}

}  // namespace p2panda

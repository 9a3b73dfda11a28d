// NodeExtensions: the header extensions the p2panda Node API writes (its "Node Extensions Format").
//
// CBOR `[extensions_version = 1, variant, ...fields]`. Variant 0 (Basic) has the fields
// `log_id bstr32, timestamp u64 (microseconds), prune bool`. Fields a later version appends are
// kept verbatim in `extra_fields` and re-encoded unchanged, so such operations still verify (p2panda
// 0.7 drops them on re-encoding and then fails the signature check). Plain value: any thread.
#pragma once

#include <optional>
#include <vector>

#include <p2panda/operation.hpp>

namespace p2panda {

class NodeExtensions {
 public:
  static constexpr std::uint16_t kVersion = 1;
  // Basic is p2panda 0.7's variant 0. Causal is ours (docs/formats.md): Basic's fields plus the
  // ids this operation depends on. Its code stays clear of p2panda's variant 1 (an unimplemented
  // "Causal" placeholder on main, "Space" on its development branch).
  enum class Variant : std::uint16_t { Basic = 0, Causal = 0x0100 };
  static constexpr std::size_t kMaxDependencies = 1024;

  Variant variant = Variant::Basic;
  LogId log_id;
  Timestamp timestamp;
  bool prune = false;
  // Causal only: operation ids, strictly ascending (so each set has one encoding).
  std::vector<Hash> dependencies;
  // Canonical CBOR items after the known fields, from newer writers.
  std::vector<Bytes> extra_fields;

  Bytes encode() const;

  // Errors: Cbor* (with offsets), ExtensionsMalformed (wrong shape or field types),
  // ExtensionsUnsupported (an extensions version or variant this implementation does not know).
  static Result<NodeExtensions> decode(ByteSpan bytes);

  friend bool operator==(const NodeExtensions&, const NodeExtensions&) = default;
};

// The extensions of `header`. Errors: ExtensionsMissing, and those of NodeExtensions::decode.
Result<NodeExtensions> node_extensions(const Header& header);

// The operation's log belongs to `topic`: its extensions' log id is BLAKE3(topic).
// Errors: LogIdMismatch, and those of node_extensions.
Result<void> validate_topic(const Header& header, const Topic& topic);

// Everything needed to append to an author's log in a topic, as the Node API publishes.
struct NodeOperationArgs {
  Topic topic;
  SeqNum seq_num;
  std::optional<Hash> backlink = std::nullopt;
  Timestamp timestamp{};
  bool prune = false;
  std::optional<Body> body = std::nullopt;
  // When set, the operation uses the Causal variant with these dependencies (sorted and
  // deduplicated here); otherwise Basic.
  std::optional<std::vector<Hash>> dependencies = std::nullopt;
};

// A signed Node API operation: Basic extensions with log id = BLAKE3(topic). Does not check that
// backlink and seq_num agree (validate_header does).
Operation create_node_operation(const PrivateKey& key, NodeOperationArgs args);

}  // namespace p2panda

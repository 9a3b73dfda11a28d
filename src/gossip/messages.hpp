// The wire messages of iroh-gossip 0.101 (identical in 0.35), byte-exact: `topic::Message`, which
// is either a HyParView membership message (Swarm) or a PlumTree broadcast message (Gossip). Each
// is one postcard body; framing.hpp puts it on a stream. Layouts and sources: docs/gossip.md.
//
// The variant below flattens the two nested enums: the first six alternatives travel as
// Swarm(0) + their hyparview index, the last four as Gossip(1) + their plumtree index.
//
// Decoding is strict: trailing bytes, unknown variants, Option tags other than 0/1, bools other
// than 0/1, non-minimal varints and u16 overflows are errors whose message names the offset.
// Anything that decodes encodes back to the same bytes. Pure functions on plain values: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include <p2panda/encoding.hpp>
#include <p2panda/fixed_bytes.hpp>
#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>

namespace p2panda::gossip {

// A peer's identity: its Ed25519 public key (iroh's EndpointId), 32 raw bytes on the wire.
using PeerId = PublicKey;

// BLAKE3 of a broadcast's content; receivers drop a Gossip whose id does not match.
class MessageId : public FixedBytes<MessageId, 32> {
 public:
  using FixedBytes::FixedBytes;
  static MessageId from_content(ByteSpan content);
};

// PeerData: the sender's address information, opaque here (postcard `AddrInfo` in iroh).
using PeerData = Bytes;

struct PeerInfo {
  PeerId id;
  std::optional<PeerData> data;
  friend bool operator==(const PeerInfo&, const PeerInfo&) = default;
};

enum class Priority : std::uint8_t { High = 0, Low = 1 };

// ---- hyparview::Message ----
struct Join {
  std::optional<PeerData> data;
  friend bool operator==(const Join&, const Join&) = default;
};
struct ForwardJoin {
  PeerInfo peer;
  std::uint16_t ttl = 0;
  friend bool operator==(const ForwardJoin&, const ForwardJoin&) = default;
};
struct Shuffle {
  PeerId origin;
  std::vector<PeerInfo> nodes;
  std::uint16_t ttl = 0;
  friend bool operator==(const Shuffle&, const Shuffle&) = default;
};
struct ShuffleReply {
  std::vector<PeerInfo> nodes;
  friend bool operator==(const ShuffleReply&, const ShuffleReply&) = default;
};
struct Neighbor {
  Priority priority = Priority::High;
  std::optional<PeerData> data;
  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};
// `respond` is obsolete in 0.101 (always sent false, ignored on receipt) but stays on the wire.
struct Disconnect {
  bool alive = false;
  bool respond = false;
  friend bool operator==(const Disconnect&, const Disconnect&) = default;
};

// ---- plumtree::Message ----

// DeliveryScope: Swarm(round) when `round` is set, Neighbors otherwise.
struct DeliveryScope {
  std::optional<std::uint16_t> round;
  static DeliveryScope swarm(std::uint16_t r) { return {r}; }
  static DeliveryScope neighbors() { return {}; }
  friend bool operator==(const DeliveryScope&, const DeliveryScope&) = default;
};
struct Gossip {
  MessageId id;
  Bytes content;
  DeliveryScope scope;
  friend bool operator==(const Gossip&, const Gossip&) = default;
};
struct Prune {
  friend bool operator==(const Prune&, const Prune&) = default;
};
struct Graft {
  std::optional<MessageId> id;
  std::uint16_t round = 0;
  friend bool operator==(const Graft&, const Graft&) = default;
};
struct IHaveEntry {
  MessageId id;
  std::uint16_t round = 0;
  friend bool operator==(const IHaveEntry&, const IHaveEntry&) = default;
};
struct IHave {
  std::vector<IHaveEntry> entries;
  friend bool operator==(const IHave&, const IHave&) = default;
};

using Message = std::variant<Join, ForwardJoin, Shuffle, ShuffleReply, Neighbor, Disconnect,
                             Gossip, Prune, Graft, IHave>;

// The largest encoding of one IHaveEntry: 32 id bytes and a u16 varint of at most 3 bytes.
constexpr std::size_t kIHaveEntryMaxSize = 35;

// Appends the postcard body of `message` to `out`.
void encode_message(const Message& message, Bytes& out);
Bytes encode_message(const Message& message);
std::size_t encoded_size(const Message& message);

// Errors: PostcardTruncated, PostcardNonCanonical, PostcardOverflow (a u16 field above 65535),
// PostcardTrailingBytes, PostcardInvalidValue (unknown variant, Option tag or bool other than 0/1).
Result<Message> decode_message(ByteSpan body);

// "Join", "ForwardJoin", ..., "IHave": for logs and tests.
std::string_view message_name(const Message& message);

}  // namespace p2panda::gossip

template <>
struct std::hash<p2panda::gossip::MessageId> : p2panda::FixedBytesHash {};

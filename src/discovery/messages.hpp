// The wire messages of p2panda 0.7's confidential topic discovery (`PsiHashMessage`, the
// salted-hash private set intersection of p2panda-discovery's psi_hash.rs): Alice's salt half,
// Bob's salt half with his hashed topics, Alice's hashed topics, then each side's transport infos.
// Each message is one postcard payload; the transport wraps it in a frame (core/frame.hpp).
// Layouts, sources and what is still open: docs/discovery.md.
//
// Salt halves are [u8; 32] (32 raw bytes); hashed topics and node ids are p2panda Topic and
// PublicKey (length 0x20 + 32 bytes). A transport info is p2panda's AuthenticatedTransportInfo in
// postcard (discovery/transport_info_wire.hpp), so every message is byte-compatible with p2panda.
//
// Decoding is strict and bounded: unknown variants, trailing bytes, non-minimal varints, ids that
// are not 32 bytes, repeated set elements, map keys out of order or repeated, and sets, maps or
// blobs over the configured limits are errors naming the offset. Nothing is allocated for a count
// the remaining bytes cannot hold. Sets are written sorted (Rust's HashSet has no order) and
// accepted in any order, so a decoded message re-encodes to the same bytes exactly when its sets
// arrived sorted. Pure functions on plain values: any thread.
#pragma once

#include <cstddef>
#include <map>
#include <p2panda/ids.hpp>
#include <p2panda/keys.hpp>
#include <set>
#include <string_view>
#include <variant>

#include "discovery/transport_info_wire.hpp"

namespace p2panda::discovery {

// One side's 32 random bytes of the session salt. Comes from the caller's CSPRNG.
class SaltHalf : public FixedBytes<SaltHalf, 32> {
 public:
  using FixedBytes::FixedBytes;
};

// BLAKE3(topic || salt): a topic as the remote sees it. A p2panda Topic on the wire.
class HashedTopic : public FixedBytes<HashedTopic, 32> {
 public:
  using FixedBytes::FixedBytes;
};

using HashedTopics = std::set<HashedTopic>;
// Node id -> the node's signed transport info (not verified by the decoder: the caller does).
using TransportInfos = std::map<NodeId, TransportInfo>;

// [0] A -> B: Alice opens with her salt half.
struct AliceSaltHalf {
  SaltHalf alice_salt_half;
  friend bool operator==(const AliceSaltHalf&, const AliceSaltHalf&) = default;
};
// [1] B -> A: Bob's salt half and his topics hashed with Bob's salt.
struct BobSaltHalfAndHashedData {
  SaltHalf bob_salt_half;
  HashedTopics topics_for_alice;
  friend bool operator==(const BobSaltHalfAndHashedData&,
                         const BobSaltHalfAndHashedData&) = default;
};
// [2] A -> B: Alice's topics hashed with Alice's salt.
struct AliceHashedData {
  HashedTopics topics_for_bob;
  friend bool operator==(const AliceHashedData&, const AliceHashedData&) = default;
};
// [3] B -> A, then A -> B: transport infos of nodes the sender chooses to share.
struct Nodes {
  TransportInfos transport_infos;
  friend bool operator==(const Nodes&, const Nodes&) = default;
};

using PsiHashMessage =
    std::variant<AliceSaltHalf, BobSaltHalfAndHashedData, AliceHashedData, Nodes>;

// What a decoder accepts; a session's peers may hold at most this many topics and share this many
// nodes.
struct MessageLimits {
  std::size_t max_topics = 1024;
  std::size_t max_nodes = 1024;
  TransportInfoLimits transport_info;
};

// The postcard payload. Deterministic: sets and maps in ascending byte order.
Bytes encode_psi_hash(const PsiHashMessage& message);

// Errors, each naming the offset:
//   PostcardTruncated: the payload ends early, or a set or map announces more entries than the
//     remaining bytes can hold (nothing is allocated for them).
//   PostcardNonCanonical: a non-minimal varint; Nodes keys out of order or repeated.
//   PostcardOverflow: a varint beyond 64 bits.
//   PostcardInvalidValue: an unknown variant, an id or hashed topic that is not 32 bytes, a
//     repeated hashed topic, a set or map over `limits`, or a transport info that
//     read_transport_info refuses.
//   PostcardTrailingBytes: bytes after the message.
Result<PsiHashMessage> decode_psi_hash(ByteSpan payload, const MessageLimits& limits = {});

// "AliceSaltHalf", "BobSaltHalfAndHashedData", "AliceHashedData" or "Nodes".
std::string_view message_name(const PsiHashMessage& message);

}  // namespace p2panda::discovery

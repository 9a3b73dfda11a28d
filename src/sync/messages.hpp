// The wire messages of p2panda 0.7's sync protocol, byte-exact: TopicHandshake (which topic a
// session is about) and TopicLogSync (log heights, the operations the remote lacks, then live
// operations). Each message is one postcard payload; the transport wraps it in a frame
// (core/frame.hpp). Layouts and sources: docs/sync.md, "Compatible messages".
//
// Decoding is strict, so every message has exactly one encoding: trailing bytes, unknown variants,
// non-minimal varints, Option tags other than 0/1, map keys out of order or repeated, and seq
// numbers beyond u32 are errors whose message names the offset. Anything that decodes encodes back
// to the same bytes. Pure functions on plain values: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <p2panda/header.hpp>
#include <p2panda/log_heights.hpp>
#include <string_view>
#include <variant>

namespace p2panda::sync {

// ---- TopicHandshakeMessage<Topic>: [0] Topic(T), [1] Done ----

struct HandshakeTopic {
  Topic topic;
  friend bool operator==(const HandshakeTopic&, const HandshakeTopic&) = default;
};
struct HandshakeDone {
  friend bool operator==(const HandshakeDone&, const HandshakeDone&) = default;
};
using TopicHandshakeMessage = std::variant<HandshakeTopic, HandshakeDone>;

Bytes encode_topic_handshake(const TopicHandshakeMessage& message);

// Errors: Postcard* (truncated, non-canonical varint, trailing bytes), PostcardInvalidValue (an
// unknown variant, or a topic that is not 32 bytes).
Result<TopicHandshakeMessage> decode_topic_handshake(ByteSpan payload);

// ---- TopicLogSyncMessage: [0] Sync(LogSyncMessage), [1] Live(Header, Option<Body>), [2] Close
// ----
//
// Flattened into one variant: Have, PreSync, SyncOperation and SyncDone are the four variants of
// LogSyncMessage and travel inside Sync(...) on the wire.

// Sync(Have): the highest seq this side holds per (author, log) of the topic.
struct Have {
  LogHeights heights;
  friend bool operator==(const Have&, const Have&) = default;
};
// Sync(PreSync): what this side is about to send.
struct PreSync {
  std::uint32_t total_operations = 0;
  std::uint32_t total_bytes = 0;
  friend bool operator==(const PreSync&, const PreSync&) = default;
};
// Sync(Operation): a stored operation, its header as the signed CBOR bytes (not decoded here).
struct SyncOperation {
  Bytes header;
  std::optional<Bytes> body;
  friend bool operator==(const SyncOperation&, const SyncOperation&) = default;
};
// Sync(Done): this side has sent everything the remote lacked.
struct SyncDone {
  friend bool operator==(const SyncDone&, const SyncDone&) = default;
};
// Live: a new operation in live mode, its header in serde/postcard form (core/header_postcard.hpp).
struct Live {
  Header header;
  std::optional<Bytes> body;
  friend bool operator==(const Live&, const Live&) = default;
};
// Close: this side ends live mode.
struct Close {
  friend bool operator==(const Close&, const Close&) = default;
};

using TopicLogSyncMessage = std::variant<Have, PreSync, SyncOperation, SyncDone, Live, Close>;

// The postcard payload. Errors (Live only, from write_header_postcard): SignatureMissing,
// ExtensionsMissing, ExtensionsUnsupported (p2panda's postcard header form has only Basic node
// extensions without extra fields), and NodeExtensions::decode's errors.
Result<Bytes> encode_topic_log_sync(const TopicLogSyncMessage& message);

// Errors: Postcard* with offsets; PostcardInvalidValue for an unknown variant, a bad Option tag or
// an author or log id that is not 32 bytes; PostcardNonCanonical for Have keys out of order or
// repeated; PostcardOverflow for a seq or PreSync total beyond u32; PostcardTruncated as soon as
// a Have map announces more entries than the remaining bytes can hold (nothing is allocated for
// them); and read_header_postcard's errors for Live (HeaderMalformed, Extensions*).
Result<TopicLogSyncMessage> decode_topic_log_sync(ByteSpan payload);

// Short names for logs and errors: "Topic", "Done", "Have", "PreSync", "Operation", "SyncDone",
// "Live", "Close".
std::string_view message_name(const TopicHandshakeMessage& message);
std::string_view message_name(const TopicLogSyncMessage& message);

// The error a protocol core returns when the remote sends a well-formed message that is not
// allowed in the current state. InvalidArgument until the error enum gains a protocol-violation
// code; every sync core builds it here so that the switch is one line.
Unexpected protocol_violation(std::string message);

}  // namespace p2panda::sync

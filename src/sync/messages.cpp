#include "sync/messages.hpp"

#include <limits>
#include <string>

#include "core/header_postcard.hpp"
#include "core/postcard.hpp"
#include "core/try.hpp"

namespace p2panda::sync {
namespace {

using postcard::Reader;
using postcard::Writer;

constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

// Variant indices on the wire.
enum HandshakeVariant : std::uint64_t { kTopic = 0, kHandshakeDone = 1 };
enum TopLevelVariant : std::uint64_t { kSync = 0, kLive = 1, kClose = 2 };
enum SyncVariant : std::uint64_t { kHave = 0, kPreSync = 1, kOperation = 2, kSyncDone = 3 };

// The fewest bytes one Have entry can take: a 32-byte key (length 0x20 + 32 bytes) and a varint
// (the inner map's length, or the seq).
constexpr std::size_t kMinHaveEntry = 1 + 32 + 1;

Unexpected invalid(std::size_t at, const std::string& what) {
  return fail(Errc::PostcardInvalidValue,
              "sync message: " + what + " at offset " + std::to_string(at));
}

Unexpected unknown_variant(std::size_t at, std::string_view type, std::uint64_t index) {
  return invalid(at, "unknown " + std::string(type) + " variant " + std::to_string(index));
}

template <class T>
Result<T> read_id(Reader& reader, std::string_view what) {
  const std::size_t at = reader.offset();
  P2PANDA_TRY(bytes, reader.bytes());
  if (bytes.size() != T::kSize) {
    return invalid(at, std::string(what) + " has " + std::to_string(bytes.size()) +
                           " bytes, expected " + std::to_string(T::kSize));
  }
  return T::from_bytes(bytes);
}

Result<std::optional<Bytes>> read_optional_bytes(Reader& reader) {
  const std::size_t at = reader.offset();
  P2PANDA_TRY(tag, reader.u8());
  if (tag == 0) return std::optional<Bytes>();
  if (tag != 1) return invalid(at, "Option tag " + std::to_string(tag));
  P2PANDA_TRY(bytes, reader.bytes());
  return std::optional<Bytes>(Bytes(bytes.begin(), bytes.end()));
}

void write_optional_bytes(Writer& writer, const std::optional<Bytes>& value) {
  writer.u8(value ? 1 : 0);
  if (value) writer.bytes(*value);
}

// A map length that the rest of the payload can hold, so that a hostile count costs nothing.
Result<std::uint64_t> read_map_length(Reader& reader, std::size_t payload_size) {
  const std::size_t at = reader.offset();
  P2PANDA_TRY(length, reader.varint());
  const std::size_t left = payload_size - reader.offset();
  if (length > left / kMinHaveEntry) {
    return fail(Errc::PostcardTruncated, "sync message: map of " + std::to_string(length) +
                                             " entries at offset " + std::to_string(at) +
                                             " cannot fit in the " + std::to_string(left) +
                                             " bytes left");
  }
  return length;
}

Unexpected unordered_key(std::size_t at, std::string_view what) {
  return fail(Errc::PostcardNonCanonical, "sync message: " + std::string(what) +
                                              " out of order or repeated at offset " +
                                              std::to_string(at));
}

Result<std::map<LogId, SeqNum>> read_logs(Reader& reader, std::size_t payload_size) {
  P2PANDA_TRY(count, read_map_length(reader, payload_size));
  std::map<LogId, SeqNum> logs;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = reader.offset();
    P2PANDA_TRY(log, read_id<LogId>(reader, "log id"));
    if (!logs.empty() && !(logs.rbegin()->first < log)) return unordered_key(at, "log id");
    P2PANDA_TRY(seq, reader.varint(kU32Max));
    logs.emplace_hint(logs.end(), log, SeqNum(static_cast<std::uint32_t>(seq)));
  }
  return logs;
}

Result<TopicLogSyncMessage> read_have(Reader& reader, std::size_t payload_size) {
  P2PANDA_TRY(count, read_map_length(reader, payload_size));
  Have have;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = reader.offset();
    P2PANDA_TRY(author, read_id<PublicKey>(reader, "author"));
    if (!have.heights.empty() && !(have.heights.rbegin()->first < author)) {
      return unordered_key(at, "author");
    }
    P2PANDA_TRY(logs, read_logs(reader, payload_size));
    have.heights.emplace_hint(have.heights.end(), author, std::move(logs));
  }
  return have;
}

Result<TopicLogSyncMessage> read_sync(Reader& reader, std::size_t payload_size) {
  const std::size_t at = reader.offset();
  P2PANDA_TRY(variant, reader.varint());
  switch (variant) {
    case kHave:
      return read_have(reader, payload_size);
    case kPreSync: {
      P2PANDA_TRY(operations, reader.varint(kU32Max));
      P2PANDA_TRY(bytes, reader.varint(kU32Max));
      return PreSync{static_cast<std::uint32_t>(operations), static_cast<std::uint32_t>(bytes)};
    }
    case kOperation: {
      P2PANDA_TRY(header, reader.bytes());
      P2PANDA_TRY(body, read_optional_bytes(reader));
      return SyncOperation{Bytes(header.begin(), header.end()), std::move(body)};
    }
    case kSyncDone:
      return SyncDone{};
    default:
      return unknown_variant(at, "LogSyncMessage", variant);
  }
}

Result<TopicLogSyncMessage> read_log_sync(Reader& reader, std::size_t payload_size) {
  P2PANDA_TRY(variant, reader.varint());
  switch (variant) {
    case kSync:
      return read_sync(reader, payload_size);
    case kLive: {
      P2PANDA_TRY(header, read_header_postcard(reader));
      P2PANDA_TRY(body, read_optional_bytes(reader));
      return Live{std::move(header), std::move(body)};
    }
    case kClose:
      return Close{};
    default:
      return unknown_variant(0, "TopicLogSyncMessage", variant);
  }
}

// One overload per TopicLogSyncMessage alternative; only Live can fail.
Result<void> write(Writer& writer, const Have& have) {
  writer.varint(kSync).varint(kHave).varint(have.heights.size());
  for (const auto& [author, logs] : have.heights) {
    writer.bytes(author.bytes()).varint(logs.size());
    for (const auto& [log, seq] : logs) writer.bytes(log.bytes()).varint(seq.value());
  }
  return {};
}

Result<void> write(Writer& writer, const PreSync& pre) {
  writer.varint(kSync).varint(kPreSync).varint(pre.total_operations).varint(pre.total_bytes);
  return {};
}

Result<void> write(Writer& writer, const SyncOperation& operation) {
  writer.varint(kSync).varint(kOperation).bytes(operation.header);
  write_optional_bytes(writer, operation.body);
  return {};
}

Result<void> write(Writer& writer, const SyncDone&) {
  writer.varint(kSync).varint(kSyncDone);
  return {};
}

Result<void> write(Writer& writer, const Live& live) {
  writer.varint(kLive);
  P2PANDA_CHECK(write_header_postcard(writer, live.header));
  write_optional_bytes(writer, live.body);
  return {};
}

Result<void> write(Writer& writer, const Close&) {
  writer.varint(kClose);
  return {};
}

}  // namespace

Bytes encode_topic_handshake(const TopicHandshakeMessage& message) {
  Writer writer;
  if (const auto* topic = std::get_if<HandshakeTopic>(&message)) {
    writer.varint(kTopic).bytes(topic->topic.bytes());
  } else {
    writer.varint(kHandshakeDone);
  }
  return std::move(writer).take();
}

Result<TopicHandshakeMessage> decode_topic_handshake(ByteSpan payload) {
  Reader reader(payload);
  P2PANDA_TRY(variant, reader.varint());
  TopicHandshakeMessage message;
  if (variant == kTopic) {
    P2PANDA_TRY(topic, read_id<Topic>(reader, "topic"));
    message = HandshakeTopic{topic};
  } else if (variant == kHandshakeDone) {
    message = HandshakeDone{};
  } else {
    return unknown_variant(0, "TopicHandshakeMessage", variant);
  }
  P2PANDA_CHECK(reader.expect_end());
  return message;
}

Result<Bytes> encode_topic_log_sync(const TopicLogSyncMessage& message) {
  Writer writer;
  const Result<void> written =
      std::visit([&](const auto& variant) { return write(writer, variant); }, message);
  P2PANDA_CHECK(written);
  return std::move(writer).take();
}

Result<TopicLogSyncMessage> decode_topic_log_sync(ByteSpan payload) {
  Reader reader(payload);
  P2PANDA_TRY(message, read_log_sync(reader, payload.size()));
  P2PANDA_CHECK(reader.expect_end());
  return message;
}

std::string_view message_name(const TopicHandshakeMessage& message) {
  return std::holds_alternative<HandshakeTopic>(message) ? "Topic" : "Done";
}

std::string_view message_name(const TopicLogSyncMessage& message) {
  static constexpr std::string_view kNames[] = {"Have",     "PreSync", "Operation",
                                                "SyncDone", "Live",    "Close"};
  return kNames[message.index()];
}

Unexpected protocol_violation(std::string message) {
  return fail(Errc::SyncProtocolViolation, std::move(message));
}

}  // namespace p2panda::sync

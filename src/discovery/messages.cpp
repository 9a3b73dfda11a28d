#include "discovery/messages.hpp"

#include <string>

#include "core/postcard.hpp"
#include "core/try.hpp"

namespace p2panda::discovery {
namespace {

using postcard::Reader;
using postcard::Writer;

// Variant indices on the wire.
enum Variant : std::uint64_t {
  kAliceSaltHalf = 0,
  kBobSaltHalfAndHashedData = 1,
  kAliceHashedData = 2,
  kNodes = 3,
};

constexpr std::size_t kIdLength = 32;
// The fewest bytes a set element (0x20 + 32) and a map entry (id, then a transport info) take, so
// a hostile count is refused before anything is allocated.
constexpr std::size_t kMinSetElement = 1 + kIdLength;
constexpr std::size_t kMinMapEntry = 1 + kIdLength + kMinTransportInfoBytes;

Unexpected error(Errc code, std::size_t at, const std::string& what) {
  return fail(code, "discovery message: " + what + " at offset " + std::to_string(at));
}

template <class T>
Result<T> read_id(Reader& reader, std::string_view what) {
  const std::size_t at = reader.offset();
  P2PANDA_TRY(bytes, reader.bytes());
  if (bytes.size() != kIdLength) {
    return error(Errc::PostcardInvalidValue, at,
                 std::string(what) + " of " + std::to_string(bytes.size()) + " bytes, expected 32");
  }
  return T::from_bytes(bytes);
}

Result<SaltHalf> read_salt_half(Reader& reader) {
  P2PANDA_TRY(bytes, reader.raw(SaltHalf::kSize));
  return SaltHalf::from_bytes(bytes);
}

// A count no larger than `limit` that the rest of the payload can hold.
Result<std::uint64_t> read_count(Reader& reader, std::size_t payload_size, std::size_t limit,
                                 std::size_t min_entry, std::string_view what) {
  const std::size_t at = reader.offset();
  P2PANDA_TRY(count, reader.varint());
  if (count > limit) {
    return error(Errc::PostcardInvalidValue, at,
                 std::string(what) + " of " + std::to_string(count) +
                     " entries exceeds the limit of " + std::to_string(limit));
  }
  const std::size_t left = payload_size - reader.offset();
  if (count > left / min_entry) {
    return error(Errc::PostcardTruncated, at,
                 std::string(what) + " of " + std::to_string(count) +
                     " entries cannot fit in the " + std::to_string(left) + " bytes left");
  }
  return count;
}

Result<HashedTopics> read_hashed_topics(Reader& reader, std::size_t payload_size,
                                        const MessageLimits& limits) {
  P2PANDA_TRY(count, read_count(reader, payload_size, limits.max_topics, kMinSetElement,
                                "hashed topic set"));
  HashedTopics topics;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = reader.offset();
    P2PANDA_TRY(topic, read_id<HashedTopic>(reader, "hashed topic"));
    if (!topics.insert(topic).second) {
      return error(Errc::PostcardInvalidValue, at, "repeated hashed topic");
    }
  }
  return topics;
}

Result<TransportInfos> read_transport_infos(Reader& reader, std::size_t payload_size,
                                            const MessageLimits& limits) {
  P2PANDA_TRY(count, read_count(reader, payload_size, limits.max_nodes, kMinMapEntry,
                                "transport info map"));
  TransportInfos infos;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = reader.offset();
    P2PANDA_TRY(node, read_id<NodeId>(reader, "node id"));
    if (!infos.empty() && !(infos.rbegin()->first < node)) {
      return error(Errc::PostcardNonCanonical, at, "node id out of order or repeated");
    }
    P2PANDA_TRY(info, read_transport_info(reader, node, limits.transport_info));
    infos.emplace_hint(infos.end(), node, std::move(info));
  }
  return infos;
}

Result<PsiHashMessage> read_message(Reader& reader, std::size_t payload_size,
                                    const MessageLimits& limits) {
  const std::size_t at = reader.offset();
  P2PANDA_TRY(variant, reader.varint());
  switch (variant) {
    case kAliceSaltHalf: {
      P2PANDA_TRY(salt, read_salt_half(reader));
      return AliceSaltHalf{salt};
    }
    case kBobSaltHalfAndHashedData: {
      P2PANDA_TRY(salt, read_salt_half(reader));
      P2PANDA_TRY(topics, read_hashed_topics(reader, payload_size, limits));
      return BobSaltHalfAndHashedData{salt, std::move(topics)};
    }
    case kAliceHashedData: {
      P2PANDA_TRY(topics, read_hashed_topics(reader, payload_size, limits));
      return AliceHashedData{std::move(topics)};
    }
    case kNodes: {
      P2PANDA_TRY(infos, read_transport_infos(reader, payload_size, limits));
      return Nodes{std::move(infos)};
    }
    default:
      return error(Errc::PostcardInvalidValue, at,
                   "unknown PsiHashMessage variant " + std::to_string(variant));
  }
}

void write_hashed_topics(Writer& writer, const HashedTopics& topics) {
  writer.varint(topics.size());
  for (const auto& topic : topics) writer.bytes(topic.bytes());
}

struct Encoder {
  Writer& writer;
  void operator()(const AliceSaltHalf& m) const {
    writer.varint(kAliceSaltHalf).raw(m.alice_salt_half.bytes());
  }
  void operator()(const BobSaltHalfAndHashedData& m) const {
    writer.varint(kBobSaltHalfAndHashedData).raw(m.bob_salt_half.bytes());
    write_hashed_topics(writer, m.topics_for_alice);
  }
  void operator()(const AliceHashedData& m) const {
    writer.varint(kAliceHashedData);
    write_hashed_topics(writer, m.topics_for_bob);
  }
  void operator()(const Nodes& m) const {
    writer.varint(kNodes).varint(m.transport_infos.size());
    for (const auto& [node, info] : m.transport_infos) {
      writer.bytes(node.bytes());
      write_transport_info(writer, node, info);
    }
  }
};

}  // namespace

Bytes encode_psi_hash(const PsiHashMessage& message) {
  Writer writer;
  std::visit(Encoder{writer}, message);
  return std::move(writer).take();
}

Result<PsiHashMessage> decode_psi_hash(ByteSpan payload, const MessageLimits& limits) {
  Reader reader(payload);
  P2PANDA_TRY(message, read_message(reader, payload.size(), limits));
  P2PANDA_CHECK(reader.expect_end());
  return message;
}

std::string_view message_name(const PsiHashMessage& message) {
  static constexpr std::string_view kNames[] = {"AliceSaltHalf", "BobSaltHalfAndHashedData",
                                                "AliceHashedData", "Nodes"};
  return kNames[message.index()];
}

}  // namespace p2panda::discovery

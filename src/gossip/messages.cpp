#include "gossip/messages.hpp"

#include <string>

#include <p2panda/hash.hpp>

#include "core/postcard.hpp"
#include "core/try.hpp"

namespace p2panda::gossip {
namespace {

using postcard::Reader;
using postcard::Writer;

enum TopVariant : std::uint64_t { kSwarm = 0, kGossip = 1 };
constexpr std::size_t kSwarmVariants = 6;  // Join .. Disconnect
constexpr std::size_t kGossipVariants = 4;  // Gossip .. IHave
// The fewest bytes a PeerInfo takes (32-byte id and a None tag), to bound a Vec before allocating.
constexpr std::size_t kMinPeerInfo = 33;
constexpr std::size_t kMinIHaveEntry = 33;

Unexpected invalid(std::size_t at, const std::string& what) {
  return fail(Errc::PostcardInvalidValue,
              "gossip message: " + what + " at offset " + std::to_string(at));
}

// ---- writing ----

void write_optional_data(Writer& w, const std::optional<PeerData>& data) {
  w.u8(data ? 1 : 0);
  if (data) w.bytes(*data);
}

void write_peer_info(Writer& w, const PeerInfo& info) {
  w.raw(info.id.bytes());
  write_optional_data(w, info.data);
}

void write_peer_infos(Writer& w, const std::vector<PeerInfo>& nodes) {
  w.varint(nodes.size());
  for (const auto& node : nodes) write_peer_info(w, node);
}

struct BodyWriter {
  Writer& w;
  void operator()(const Join& m) { write_optional_data(w, m.data); }
  void operator()(const ForwardJoin& m) {
    write_peer_info(w, m.peer);
    w.varint(m.ttl);
  }
  void operator()(const Shuffle& m) {
    w.raw(m.origin.bytes());
    write_peer_infos(w, m.nodes);
    w.varint(m.ttl);
  }
  void operator()(const ShuffleReply& m) { write_peer_infos(w, m.nodes); }
  void operator()(const Neighbor& m) {
    w.varint(static_cast<std::uint64_t>(m.priority));
    write_optional_data(w, m.data);
  }
  void operator()(const Disconnect& m) { w.boolean(m.alive).boolean(m.respond); }
  void operator()(const Gossip& m) {
    w.raw(m.id.bytes()).bytes(m.content);
    if (m.scope.round) {
      w.varint(0).varint(*m.scope.round);
    } else {
      w.varint(1);
    }
  }
  void operator()(const Prune&) {}
  void operator()(const Graft& m) {
    w.u8(m.id ? 1 : 0);
    if (m.id) w.raw(m.id->bytes());
    w.varint(m.round);
  }
  void operator()(const IHave& m) {
    w.varint(m.entries.size());
    for (const auto& entry : m.entries) w.raw(entry.id.bytes()).varint(entry.round);
  }
};

// ---- reading ----

Result<std::uint16_t> read_u16(Reader& r) {
  P2PANDA_TRY(value, r.varint(UINT16_MAX));
  return static_cast<std::uint16_t>(value);
}

template <class Id>
Result<Id> read_id(Reader& r) {
  P2PANDA_TRY(bytes, r.raw(Id::kSize));
  return Id::from_bytes(bytes);
}

// Reads an Option tag: false for None, true for Some.
Result<bool> read_option_tag(Reader& r) {
  const std::size_t at = r.offset();
  P2PANDA_TRY(tag, r.u8());
  if (tag > 1) return invalid(at, "Option tag " + std::to_string(tag));
  return tag == 1;
}

Result<std::optional<PeerData>> read_optional_data(Reader& r) {
  P2PANDA_TRY(some, read_option_tag(r));
  if (!some) return std::optional<PeerData>();
  P2PANDA_TRY(bytes, r.bytes());
  return std::optional<PeerData>(PeerData(bytes.begin(), bytes.end()));
}

Result<PeerInfo> read_peer_info(Reader& r) {
  P2PANDA_TRY(id, read_id<PeerId>(r));
  P2PANDA_TRY(data, read_optional_data(r));
  return PeerInfo{id, std::move(data)};
}

// A Vec length, refused when the remaining input cannot hold that many items of `min_item` bytes.
Result<std::size_t> read_length(Reader& r, std::size_t remaining, std::size_t min_item) {
  const std::size_t at = r.offset();
  P2PANDA_TRY(length, r.varint());
  if (length > (remaining - (r.offset() - at)) / min_item) {
    return fail(Errc::PostcardTruncated, "gossip message: sequence of " + std::to_string(length) +
                                             " items cannot fit the input at offset " +
                                             std::to_string(at));
  }
  return static_cast<std::size_t>(length);
}

Result<std::vector<PeerInfo>> read_peer_infos(Reader& r, std::size_t total) {
  P2PANDA_TRY(length, read_length(r, total - r.offset(), kMinPeerInfo));
  std::vector<PeerInfo> nodes;
  nodes.reserve(length);
  for (std::size_t i = 0; i < length; ++i) {
    P2PANDA_TRY(info, read_peer_info(r));
    nodes.push_back(std::move(info));
  }
  return nodes;
}

Result<Message> read_swarm(Reader& r, std::uint64_t index, std::size_t total) {
  switch (index) {
    case 0: {
      P2PANDA_TRY(data, read_optional_data(r));
      return Message(Join{std::move(data)});
    }
    case 1: {
      P2PANDA_TRY(peer, read_peer_info(r));
      P2PANDA_TRY(ttl, read_u16(r));
      return Message(ForwardJoin{std::move(peer), ttl});
    }
    case 2: {
      P2PANDA_TRY(origin, read_id<PeerId>(r));
      P2PANDA_TRY(nodes, read_peer_infos(r, total));
      P2PANDA_TRY(ttl, read_u16(r));
      return Message(Shuffle{origin, std::move(nodes), ttl});
    }
    case 3: {
      P2PANDA_TRY(nodes, read_peer_infos(r, total));
      return Message(ShuffleReply{std::move(nodes)});
    }
    case 4: {
      const std::size_t at = r.offset();
      P2PANDA_TRY(priority, r.varint());
      if (priority > 1) return invalid(at, "unknown Priority variant " + std::to_string(priority));
      P2PANDA_TRY(data, read_optional_data(r));
      return Message(Neighbor{static_cast<Priority>(priority), std::move(data)});
    }
    default: {
      P2PANDA_TRY(alive, r.boolean());
      P2PANDA_TRY(respond, r.boolean());
      return Message(Disconnect{alive, respond});
    }
  }
}

Result<Message> read_gossip(Reader& r, std::uint64_t index, std::size_t total) {
  switch (index) {
    case 0: {
      P2PANDA_TRY(id, read_id<MessageId>(r));
      P2PANDA_TRY(content, r.bytes());
      const std::size_t at = r.offset();
      P2PANDA_TRY(scope, r.varint());
      DeliveryScope delivery;
      if (scope == 0) {
        P2PANDA_TRY(round, read_u16(r));
        delivery.round = round;
      } else if (scope != 1) {
        return invalid(at, "unknown DeliveryScope variant " + std::to_string(scope));
      }
      return Message(Gossip{id, Bytes(content.begin(), content.end()), delivery});
    }
    case 1:
      return Message(Prune{});
    case 2: {
      P2PANDA_TRY(some, read_option_tag(r));
      Graft graft;
      if (some) {
        P2PANDA_TRY(id, read_id<MessageId>(r));
        graft.id = id;
      }
      P2PANDA_TRY(round, read_u16(r));
      graft.round = round;
      return Message(std::move(graft));
    }
    default: {
      P2PANDA_TRY(length, read_length(r, total - r.offset(), kMinIHaveEntry));
      IHave ihave;
      ihave.entries.reserve(length);
      for (std::size_t i = 0; i < length; ++i) {
        P2PANDA_TRY(id, read_id<MessageId>(r));
        P2PANDA_TRY(round, read_u16(r));
        ihave.entries.push_back({id, round});
      }
      return Message(std::move(ihave));
    }
  }
}

}  // namespace

MessageId MessageId::from_content(ByteSpan content) {
  return MessageId(Hash::digest(content).array());
}

void encode_message(const Message& message, Bytes& out) {
  Writer w;
  const std::size_t index = message.index();
  if (index < kSwarmVariants) {
    w.varint(kSwarm).varint(index);
  } else {
    w.varint(kGossip).varint(index - kSwarmVariants);
  }
  std::visit(BodyWriter{w}, message);
  const Bytes& data = w.data();
  out.insert(out.end(), data.begin(), data.end());
}

Bytes encode_message(const Message& message) {
  Bytes out;
  encode_message(message, out);
  return out;
}

std::size_t encoded_size(const Message& message) { return encode_message(message).size(); }

Result<Message> decode_message(ByteSpan body) {
  Reader r(body);
  std::size_t at = r.offset();
  P2PANDA_TRY(top, r.varint());
  if (top > kGossip) return invalid(at, "unknown topic::Message variant " + std::to_string(top));
  at = r.offset();
  P2PANDA_TRY(index, r.varint());
  const std::size_t count = top == kSwarm ? kSwarmVariants : kGossipVariants;
  if (index >= count) {
    return invalid(at, std::string("unknown ") + (top == kSwarm ? "hyparview" : "plumtree") +
                           "::Message variant " + std::to_string(index));
  }
  auto message = top == kSwarm ? read_swarm(r, index, body.size())
                               : read_gossip(r, index, body.size());
  if (!message) return message;
  P2PANDA_CHECK(r.expect_end());
  return message;
}

std::string_view message_name(const Message& message) {
  static constexpr std::string_view kNames[] = {"Join",   "ForwardJoin", "Shuffle", "ShuffleReply",
                                                "Neighbor", "Disconnect", "Gossip", "Prune",
                                                "Graft",  "IHave"};
  return kNames[message.index()];
}

}  // namespace p2panda::gossip

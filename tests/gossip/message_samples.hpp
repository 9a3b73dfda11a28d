// Helpers shared by the gossip tests: filled ids, hex building, and random messages.
#pragma once

#include <random>
#include <string>

#include "gossip/messages.hpp"

namespace p2panda::gossip::testing {

template <class Id>
Id filled(std::uint8_t byte) {
  std::array<std::uint8_t, Id::kSize> bytes{};
  bytes.fill(byte);
  return Id(bytes);
}

inline std::string repeat(const std::string& hex_byte, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += hex_byte;
  return out;
}

inline Bytes random_bytes(std::mt19937_64& rng, std::size_t max) {
  Bytes bytes(std::uniform_int_distribution<std::size_t>(0, max)(rng));
  for (auto& byte : bytes) byte = static_cast<std::uint8_t>(rng());
  return bytes;
}

inline std::optional<PeerData> random_data(std::mt19937_64& rng) {
  if (rng() % 2) return std::nullopt;
  return random_bytes(rng, 200);
}

inline PeerId random_peer(std::mt19937_64& rng) {
  return filled<PeerId>(static_cast<std::uint8_t>(rng()));
}

inline std::vector<PeerInfo> random_infos(std::mt19937_64& rng) {
  std::vector<PeerInfo> nodes(rng() % 8);
  for (auto& node : nodes) node = {random_peer(rng), random_data(rng)};
  return nodes;
}

inline std::uint16_t random_u16(std::mt19937_64& rng) {
  const unsigned shift = static_cast<unsigned>(rng() % 16);
  return static_cast<std::uint16_t>(rng() >> (48 + shift));
}

inline Message random_message(std::mt19937_64& rng) {
  const MessageId id = filled<MessageId>(static_cast<std::uint8_t>(rng()));
  switch (rng() % 10) {
    case 0: return Join{random_data(rng)};
    case 1: return ForwardJoin{{random_peer(rng), random_data(rng)}, random_u16(rng)};
    case 2: return Shuffle{random_peer(rng), random_infos(rng), random_u16(rng)};
    case 3: return ShuffleReply{random_infos(rng)};
    case 4: return Neighbor{rng() % 2 ? Priority::High : Priority::Low, random_data(rng)};
    case 5: return Disconnect{rng() % 2 == 0, rng() % 2 == 0};
    case 6: {
      Bytes content = random_bytes(rng, 300);
      const MessageId real = MessageId::from_content(content);
      return Gossip{real, std::move(content),
                    rng() % 2 ? DeliveryScope::swarm(random_u16(rng))
                              : DeliveryScope::neighbors()};
    }
    case 7: return Prune{};
    case 8: return Graft{rng() % 2 ? std::optional<MessageId>(id) : std::nullopt, random_u16(rng)};
    default: {
      IHave ihave;
      for (std::size_t i = rng() % 5; i > 0; --i) ihave.entries.push_back({id, random_u16(rng)});
      return ihave;
    }
  }
}

}  // namespace p2panda::gossip::testing

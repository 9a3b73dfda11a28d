// Random choices over the small peer lists of the gossip cores, driven by the caller's seeded
// generator so a simulation replays exactly. The lists keep insertion order; only these helpers
// introduce randomness. Pure functions: any thread, given a generator per thread.
#pragma once

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

#include "gossip/messages.hpp"

namespace p2panda::gossip {

inline bool contains(const std::vector<PeerId>& peers, const PeerId& peer) {
  return std::find(peers.begin(), peers.end(), peer) != peers.end();
}

inline std::size_t random_index(std::size_t size, std::mt19937_64& rng) {
  return std::uniform_int_distribution<std::size_t>(0, size - 1)(rng);
}

// A random element of `peers` not in `skip`, if any.
inline std::optional<PeerId> pick_random_without(const std::vector<PeerId>& peers,
                                                 const std::vector<PeerId>& skip,
                                                 std::mt19937_64& rng) {
  std::vector<PeerId> candidates;
  for (const auto& peer : peers) {
    if (!contains(skip, peer)) candidates.push_back(peer);
  }
  if (candidates.empty()) return std::nullopt;
  return candidates[random_index(candidates.size(), rng)];
}

// Up to `count` elements of `peers` not in `skip`, in random order.
inline std::vector<PeerId> shuffled_without_capped(const std::vector<PeerId>& peers,
                                                   const std::vector<PeerId>& skip,
                                                   std::size_t count, std::mt19937_64& rng) {
  std::vector<PeerId> result;
  for (const auto& peer : peers) {
    if (!contains(skip, peer)) result.push_back(peer);
  }
  std::shuffle(result.begin(), result.end(), rng);
  if (result.size() > count) result.resize(count);
  return result;
}

}  // namespace p2panda::gossip

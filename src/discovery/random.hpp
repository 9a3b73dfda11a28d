// Uniform choices from the caller's seeded generator, written out (rather than
// std::uniform_int_distribution, whose algorithm differs between standard libraries) so a seed
// gives the same walk everywhere. Pure functions: any thread, given a generator per thread.
#pragma once

#include <cstdint>
#include <random>

namespace p2panda::discovery {

using Rng = std::mt19937_64;
using Micros = std::uint64_t;  // microseconds on the caller's monotonic clock

// Uniform in [0, bound). REQUIRES: bound > 0.
inline std::uint64_t random_below(Rng& rng, std::uint64_t bound) {
  // Rejects the top partial block so that every value is equally likely.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  std::uint64_t value;
  do {
    value = rng();
  } while (value >= limit);
  return value % bound;
}

// Uniform in [low, high); `low` when the range is empty.
inline std::uint64_t random_in(Rng& rng, std::uint64_t low, std::uint64_t high) {
  return high <= low ? low : low + random_below(rng, high - low);
}

// True with probability `p` (0 never, 1 always).
inline bool random_bool(Rng& rng, double p) {
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  return static_cast<double>(rng() >> 11) * 0x1.0p-53 < p;
}

}  // namespace p2panda::discovery

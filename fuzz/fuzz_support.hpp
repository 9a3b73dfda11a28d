// Helpers shared by the libFuzzer targets. A broken property must stop the fuzzer with a crash it
// can minimise, so check() traps instead of returning an error; the sanitizers then print where.
#pragma once

#include <algorithm>
#include <cstdint>

#include <p2panda/encoding.hpp>

namespace p2panda::fuzz {

inline void check(bool property) {
  if (!property) __builtin_trap();
}

inline bool same_bytes(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// A small deterministic generator, so one input byte can pick a long sequence of operations and a
// crash still reproduces from the input alone.
class Choices {
 public:
  explicit Choices(std::uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ULL + 1) {}
  unsigned next(unsigned bound) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<unsigned>((state_ >> 33) % bound);
  }

 private:
  std::uint64_t state_;
};

}  // namespace p2panda::fuzz

// Seeds for simulation tests: random unless P2PANDA_SEED is set; a failing test prints the seed
// that reproduces it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>

namespace p2panda::test {

inline std::uint64_t base_seed() {
  if (const char* text = std::getenv("P2PANDA_SEED")) return std::strtoull(text, nullptr, 10);
  static const std::uint64_t seed = std::random_device{}();
  return seed;
}

// Prints the seed when the current test has failed.
struct SeedReporter {
  std::uint64_t seed;
  ~SeedReporter() {
    if (::testing::Test::HasFailure()) {
      std::fprintf(stderr, "replay with P2PANDA_SEED=%llu\n", static_cast<unsigned long long>(seed));
    }
  }
};

}  // namespace p2panda::test

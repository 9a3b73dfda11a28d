// The walkers' incremental backoff (p2panda-net's discovery/backoff.rs): a delay that starts at
// zero, grows by a random 1-5 s per unproductive step up to 30 s, and drops back to zero after a
// random 60-180 s since the last reset (or whenever the caller resets it). Time comes in as `now`,
// randomness from a seed. Not thread-safe; one owner.
#pragma once

#include "discovery/random.hpp"

namespace p2panda::discovery {

struct BackoffConfig {
  Micros initial = 0;
  Micros min_increment = 1'000'000;
  Micros max_increment = 5'000'000;
  Micros max_value = 30'000'000;
  Micros min_reset = 60'000'000;
  Micros max_reset = 180'000'000;
};

class Backoff {
 public:
  Backoff(std::uint64_t seed, Micros now, BackoffConfig config = {});

  // One more unproductive step: grow by a random increment in [min, max) (whole milliseconds,
  // as p2panda draws them), capped at max_value; then, if reset_after has passed since the last
  // reset, reset.
  void increment(Micros now);

  // Back to the initial value; draws a new reset_after in [min_reset, max_reset).
  void reset(Micros now);

  Micros value() const { return value_; }
  Micros reset_after() const { return reset_after_; }
  Micros last_reset_at() const { return last_reset_at_; }

 private:
  Micros random_millis(Micros low, Micros high);

  BackoffConfig config_;
  Rng rng_;
  Micros value_ = 0;
  Micros last_reset_at_ = 0;
  Micros reset_after_ = 0;
};

}  // namespace p2panda::discovery

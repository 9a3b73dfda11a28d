#include "discovery/backoff.hpp"

#include <algorithm>

namespace p2panda::discovery {

Backoff::Backoff(std::uint64_t seed, Micros now, BackoffConfig config)
    : config_(config), rng_(seed) {
  reset(now);
}

void Backoff::increment(Micros now) {
  // p2panda may overshoot the maximum by one increment before clamping; we clamp at once.
  if (value_ < config_.max_value) {
    value_ = std::min(config_.max_value,
                      value_ + random_millis(config_.min_increment, config_.max_increment));
  } else {
    value_ = config_.max_value;
  }
  if (now >= last_reset_at_ && now - last_reset_at_ >= reset_after_) reset(now);
}

void Backoff::reset(Micros now) {
  value_ = config_.initial;
  last_reset_at_ = now;
  reset_after_ = random_millis(config_.min_reset, config_.max_reset);
}

Micros Backoff::random_millis(Micros low, Micros high) {
  return random_in(rng_, low / 1000, high / 1000) * 1000;
}

}  // namespace p2panda::discovery

#include "node/dial_backoff.hpp"

#include <algorithm>

namespace p2panda::node {

DialBackoff::Clock::duration DialBackoff::failed(const Key& key, Clock::time_point now) {
  auto& slot = slots_[key];
  ++slot.failures;
  // Doubling stops at the cap; the shift never runs past it however many failures pile up.
  unsigned factor = 1;
  for (unsigned n = 1; n < slot.failures && factor < kMaxFactor; ++n) factor *= 2;
  const auto wait = base_ * std::min(factor, kMaxFactor);
  slot.not_before = now + wait;
  return wait;
}

void DialBackoff::clear_peer(const NodeId& peer) {
  std::erase_if(slots_, [&](const auto& entry) { return entry.first.first == peer; });
}

void DialBackoff::forget_topic(const Topic& topic) {
  std::erase_if(slots_, [&](const auto& entry) { return entry.first.second == topic; });
}

bool DialBackoff::may_dial(const Key& key, Clock::time_point now) const {
  auto found = slots_.find(key);
  return found == slots_.end() || found->second.not_before <= now;
}

std::optional<DialBackoff::Clock::time_point> DialBackoff::next_due(Clock::time_point now) const {
  std::optional<Clock::time_point> earliest;
  for (const auto& [key, slot] : slots_) {
    if (slot.not_before <= now) continue;
    if (!earliest || slot.not_before < *earliest) earliest = slot.not_before;
  }
  return earliest;
}

unsigned DialBackoff::failures(const Key& key) const {
  auto found = slots_.find(key);
  return found == slots_.end() ? 0 : found->second.failures;
}

}  // namespace p2panda::node

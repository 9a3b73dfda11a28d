// Helpers for the gossip tests of whole nodes: waiting on system events and ephemeral messages
// with deadlines (never sleeps).
#pragma once

#include <functional>
#include <set>
#include <string>

#include "node_fixture.hpp"

namespace p2panda::test {

// Takes events until `match` accepts one (true) or `timeout` passes (false).
inline bool wait_event(EventStream& events, const std::function<bool(const SystemEvent&)>& match,
                       std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto event = events.next(left);
    if (!event || !*event) return false;
    if (match(**event)) return true;
  }
}

template <class E>
std::function<bool(const SystemEvent&)> event_about(const NodeId& node) {
  return [node](const SystemEvent& event) {
    auto* typed = std::get_if<E>(&event);
    return typed != nullptr && typed->node == node;
  };
}

// An ephemeral neighbour (any) showed up.
inline bool ephemeral_neighbor(const SystemEvent& event) {
  auto* up = std::get_if<NeighborUp>(&event);
  return up != nullptr && up->ephemeral;
}

// Receives ephemeral messages until every text in `until` arrived; returns all received.
inline std::vector<std::string> receive_until(EphemeralSubscription<std::string>& subscription,
                                              std::set<std::string> until,
                                              std::chrono::milliseconds timeout = 10s) {
  std::vector<std::string> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!until.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto message = subscription.next(left);
    if (!message || !*message) break;
    out.push_back((*message)->message);
    until.erase((*message)->message);
  }
  return out;
}

}  // namespace p2panda::test

// DialBackoff: when the sync manager may dial a (peer, topic) slot again after failed attempts.
//
// Why: without it, a peer that stays unreachable (gone for good, a stale address, a node that
// does not follow the topic) was dialled every sync_retry for as long as the node ran, each
// attempt a dial, often a handshake timeout, and a SyncSessionFailed event. Here the n-th
// failure in a row waits base * 2^(n-1) before the next dial, capped at base * kMaxFactor: with
// the default sync_retry of 5 s that is 5, 10, 20, 40, 40, ... s. Whatever suggests the peer can
// be reached now clears the slot (a session that starts, a new address for the peer), so a peer
// that comes back is not kept waiting by its old failures.
//
// Sans-IO: time comes in as arguments. Not thread-safe; the sync manager's (node thread) own.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <utility>

#include <p2panda/ids.hpp>
#include <p2panda/keys.hpp>

namespace p2panda::node {

class DialBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  using Key = std::pair<NodeId, Topic>;
  static constexpr unsigned kMaxFactor = 8;

  explicit DialBackoff(Clock::duration base) : base_(base) {}

  // One more failed attempt in a row for `key`; returns how long to wait before the next.
  Clock::duration failed(const Key& key, Clock::time_point now);
  // `key` may be dialled again at once: its session started.
  void succeeded(const Key& key) { slots_.erase(key); }
  // All of `peer`'s slots may be dialled again at once: it has a new address, say.
  void clear_peer(const NodeId& peer);
  // Forgets every slot of `topic` (no longer followed).
  void forget_topic(const Topic& topic);

  bool may_dial(const Key& key, Clock::time_point now) const;
  // The earliest moment after `now` at which a waiting slot may be dialled; empty if none waits.
  std::optional<Clock::time_point> next_due(Clock::time_point now) const;
  // Failures in a row so far (0 for a slot that never failed or was cleared).
  unsigned failures(const Key& key) const;

 private:
  struct Slot {
    unsigned failures = 0;
    Clock::time_point not_before;
  };
  Clock::duration base_;
  std::map<Key, Slot> slots_;
};

}  // namespace p2panda::node

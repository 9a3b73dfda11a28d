// OwnLog: the head of the node's own log in one topic, shared by the engine and every stream of
// the topic, so that publishers sign on their own thread (engine_publish.cpp) instead of queueing
// that work on the node thread. Its mutex is held while a publisher reads the head, signs and
// queues, so operations enter the publish queue in log order. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

#include <p2panda/hash.hpp>
#include <p2panda/ids.hpp>

namespace p2panda::detail {

struct OwnHead {
  SeqNum seq_num;
  Hash id;
};

struct OwnLog {
  std::mutex mutex;
  // Guarded by `mutex`. Outer nullopt: not known, read the store; inner nullopt: an empty log.
  // The store stays the authority: on any doubt (a failed write, our own operations arriving
  // from elsewhere) the head is forgotten and read again.
  std::optional<std::optional<OwnHead>> head;
  // Guarded by `mutex`: bumped each time `head` is forgotten. Every publish carries the
  // generation it was signed in; the ones signed on a chain that a failed write broke all fail,
  // and only the first of those may send the head back to the store. Later ones forgetting it
  // again would throw away the next, valid chain (signed on the store's head meanwhile) and make
  // its publishes fail in turn.
  std::uint64_t generation = 0;
  // Set by the store's writer, which must never wait for `mutex` (a publisher holding it may be
  // waiting for a read that the writer runs): the generation after the newest broken one. A
  // publisher finding it above `generation` forgets the head before signing.
  std::atomic<std::uint64_t> broken{0};
  // Multi-writer causal order on this topic (sticky: set once any stream asks for it).
  std::atomic<bool> causal{false};
  // The store links our log to the topic (publish's fast lane links only on the first publish;
  // a failed write clears this, so the next one links again).
  std::atomic<bool> linked{false};
};

}  // namespace p2panda::detail

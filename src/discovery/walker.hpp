// A random walker over the address book, as a pure state machine: p2panda's random_walk.rs
// (which node to visit next) together with p2panda-net's walker actor (when: success rate,
// backoff, reset). The driver runs kDefaultWalkerCount walkers, each with its own seed.
//
// Cycle: when now >= next_deadline(), call next_step() with a snapshot of the address book. It
// names a node to run a discovery session with (then report the outcome with session_succeeded()
// or session_failed()), or nothing when the book holds no one else (then wait until the deadline
// it sets, 2 s later). A walk starts at a random bootstrap node (else any random node), continues
// with random unvisited nodes (the book plus the nodes the last session returned), and starts over
// when everything was visited or, on each step, with probability 0.02. The success rate of a step
// is the share of new transport infos it brought; below 2% the backoff grows (backoff.hpp), else
// it is reset. reset() when our topics or our address change: the next step starts a new walk now.
//
// Time and randomness come in (`now`, a seed). Iteration order is deterministic: the same seed
// and inputs give the same walk. Not thread-safe; one owner.
#pragma once

#include <optional>
#include <p2panda/keys.hpp>
#include <p2panda/result.hpp>
#include <set>
#include <span>
#include <vector>

#include "discovery/backoff.hpp"

namespace p2panda::discovery {

constexpr std::size_t kDefaultWalkerCount = 2;

struct WalkerConfig {
  double reset_walk_probability = 0.02;
  double success_rate_threshold = 0.02;
  Micros empty_address_book_delay = 2'000'000;
  BackoffConfig backoff;
};

// One address book entry, as the walker needs it.
struct KnownNode {
  NodeId id;
  bool bootstrap = false;
};

class RandomWalker {
 public:
  RandomWalker(const NodeId& me, std::uint64_t seed, Micros now, WalkerConfig config = {});

  // When next_step() is due; nullopt while a session is in flight.
  std::optional<Micros> next_deadline() const;

  // The next node to visit, or nullopt when the book holds nobody but us (the next deadline is
  // then 2 s away). Never returns `me`. With a node, the walker waits for its session's outcome.
  // Errors: InvalidArgument when a session is in flight or now < next_deadline() (caller bugs;
  // nothing changes).
  Result<std::optional<NodeId>> next_step(std::span<const KnownNode> address_book, Micros now);

  // The session with the last node finished. `learned` = the node ids the remote sent (the walk
  // continues from them), `new_infos` = how many of their infos were new to our address book.
  // Sets the next deadline to now + backoff. Errors: InvalidArgument when no session is in flight.
  Result<void> session_succeeded(std::span<const NodeId> learned, std::size_t new_infos,
                                 Micros now);
  // The session failed: success rate 0, the walk continues from the last successful result.
  Result<void> session_failed(Micros now);

  // Our topics or address changed: start a new walk from a bootstrap node without backoff, now or
  // (with a session in flight) as soon as its outcome is reported.
  void reset(Micros now);

  bool session_in_flight() const { return in_flight_; }
  const Backoff& backoff() const { return backoff_; }
  double last_success_rate() const { return last_success_rate_; }
  const std::set<NodeId>& visited() const { return visited_; }

 private:
  void after_step(double success_rate, Micros now);
  void restart_walk(std::span<const KnownNode> address_book);
  std::optional<NodeId> random_bootstrap(std::span<const KnownNode> address_book);
  std::optional<NodeId> random_unvisited();

  NodeId me_;
  WalkerConfig config_;
  Rng rng_;
  Backoff backoff_;
  std::set<NodeId> visited_;
  std::set<NodeId> unvisited_;
  // The node ids of the last successful session; nullopt = start a new walk (p2panda's Bootstrap).
  std::optional<std::vector<NodeId>> previous_;
  Micros deadline_;
  bool in_flight_ = false;
  bool reset_pending_ = false;
  double last_success_rate_ = 1.0;
};

}  // namespace p2panda::discovery

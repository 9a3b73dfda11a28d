#include "discovery/walker.hpp"

#include <iterator>

namespace p2panda::discovery {
namespace {

// The backoff draws from its own stream so that its draws do not shift the walk's.
constexpr std::uint64_t kBackoffSeedMix = 0x9e3779b97f4a7c15ULL;

Unexpected misuse(const char* what) {
  return fail(Errc::InvalidArgument, std::string("random walker: ") + what);
}

}  // namespace

RandomWalker::RandomWalker(const NodeId& me, std::uint64_t seed, Micros now, WalkerConfig config)
    : me_(me),
      config_(config),
      rng_(seed),
      backoff_(seed ^ kBackoffSeedMix, now, config.backoff),
      deadline_(now) {}

std::optional<Micros> RandomWalker::next_deadline() const {
  if (in_flight_) return std::nullopt;
  return deadline_;
}

Result<std::optional<NodeId>> RandomWalker::next_step(std::span<const KnownNode> address_book,
                                                      Micros now) {
  if (in_flight_) return misuse("next_step with a session in flight");
  if (now < deadline_) return misuse("next_step before its deadline");

  bool restart = !previous_.has_value();
  if (previous_) {
    for (const auto& id : *previous_) {
      if (!visited_.contains(id) && id != me_) unvisited_.insert(id);
    }
    restart = unvisited_.empty() || random_bool(rng_, config_.reset_walk_probability);
  }
  std::optional<NodeId> node;
  if (restart) {
    restart_walk(address_book);
    node = random_bootstrap(address_book);
  } else {
    node = random_unvisited();
  }

  if (!node) {
    // Nobody to talk to: wait, then start a new walk as if freshly bootstrapped.
    previous_.reset();
    backoff_.reset(now);
    deadline_ = now + config_.empty_address_book_delay;
    return std::optional<NodeId>();
  }
  visited_.insert(*node);
  unvisited_.erase(*node);
  in_flight_ = true;
  return node;
}

Result<void> RandomWalker::session_succeeded(std::span<const NodeId> learned, std::size_t new_infos,
                                             Micros now) {
  if (!in_flight_) return misuse("session outcome without a session in flight");
  previous_ = std::vector<NodeId>(learned.begin(), learned.end());
  // p2panda divides by zero here for an empty result (NaN, which resets the backoff); we count
  // an empty result as unproductive.
  const double rate =
      learned.empty() ? 0.0 : static_cast<double>(new_infos) / static_cast<double>(learned.size());
  after_step(rate, now);
  return {};
}

Result<void> RandomWalker::session_failed(Micros now) {
  if (!in_flight_) return misuse("session outcome without a session in flight");
  // As in p2panda the walk continues from the last successful result, or starts over without one.
  after_step(0.0, now);
  return {};
}

void RandomWalker::after_step(double success_rate, Micros now) {
  in_flight_ = false;
  last_success_rate_ = success_rate;
  if (reset_pending_) {
    reset_pending_ = false;
    reset(now);
    return;
  }
  if (success_rate < config_.success_rate_threshold) {
    backoff_.increment(now);
  } else {
    backoff_.reset(now);
  }
  deadline_ = now + backoff_.value();
}

void RandomWalker::reset(Micros now) {
  if (in_flight_) {
    reset_pending_ = true;
    return;
  }
  previous_.reset();
  backoff_.reset(now);
  deadline_ = now;
}

void RandomWalker::restart_walk(std::span<const KnownNode> address_book) {
  // Like p2panda, the unvisited set is extended rather than replaced: nodes learned from sessions
  // but not (yet) in the book stay candidates.
  for (const auto& node : address_book) {
    if (node.id != me_) unvisited_.insert(node.id);
  }
  visited_ = {me_};
  unvisited_.erase(me_);
}

std::optional<NodeId> RandomWalker::random_bootstrap(std::span<const KnownNode> address_book) {
  std::set<NodeId> bootstrap;
  for (const auto& node : address_book) {
    if (node.bootstrap && node.id != me_) bootstrap.insert(node.id);
  }
  if (bootstrap.empty()) return random_unvisited();
  return *std::next(bootstrap.begin(),
                    static_cast<std::ptrdiff_t>(random_below(rng_, bootstrap.size())));
}

std::optional<NodeId> RandomWalker::random_unvisited() {
  if (unvisited_.empty()) return std::nullopt;
  return *std::next(unvisited_.begin(),
                    static_cast<std::ptrdiff_t>(random_below(rng_, unvisited_.size())));
}

}  // namespace p2panda::discovery

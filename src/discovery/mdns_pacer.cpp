#include "discovery/mdns_pacer.hpp"

#include <algorithm>

namespace p2panda::discovery::mdns {

MdnsPacer::MdnsPacer(PacerConfig config, std::uint64_t seed) : config_(config), random_(seed) {}

Millis MdnsPacer::draw(Millis low, Millis high) {
  if (high <= low) return low;
  std::uniform_int_distribution<std::int64_t> pick(low.count(), high.count() - 1);
  return Millis(pick(random_));
}

std::pair<Millis, Millis> MdnsPacer::query_window(std::size_t swarm) const {
  const auto spread = config_.tau * static_cast<std::int64_t>(swarm + 1) / 10;
  return {config_.tau, config_.tau + spread};
}

Millis MdnsPacer::response_window(std::size_t swarm) const {
  const double tau_s = std::chrono::duration<double>(config_.tau).count();
  return Millis(
      static_cast<std::int64_t>(100.0 * static_cast<double>(swarm + 1) / (tau_s * config_.phi)));
}

void MdnsPacer::schedule_query(Time now) {
  if (!config_.active) return;
  auto [low, high] = query_window(swarm_size(now));
  query_at_ = now + draw(low, high);
}

void MdnsPacer::start(Time now) {
  const Millis first = draw(config_.first_delay, config_.first_delay + Millis(100));
  announce_at_ = now + first;
  // The first query goes out with the announcement rather than after a full cycle: a node that
  // just started wants its peers now (swarm-discovery waits tau first).
  if (config_.active) query_at_ = now + first;
}

void MdnsPacer::republish(Time now) { announce_at_ = now + draw(Millis(0), Millis(20)); }

std::size_t MdnsPacer::swarm_size(Time now) {
  // Prune peers silent for 3S/phi (S before pruning), as swarm-discovery does.
  const double window_s = 3.0 * static_cast<double>(peers_.size() + 1) / config_.phi;
  const auto window = std::chrono::duration_cast<Millis>(std::chrono::duration<double>(window_s));
  std::erase_if(peers_, [&](const auto& entry) { return now - entry.second > window; });
  return peers_.size() + 1;
}

void MdnsPacer::on_query(Time now) {
  const std::size_t swarm = swarm_size(now);
  if (!response_at_) {
    const double budget = std::chrono::duration<double>(config_.tau).count() * config_.phi;
    if (responded_last_cycle_) {
      const double penalty = std::min(10.0, static_cast<double>(swarm) / budget);
      extra_ = Millis(static_cast<std::int64_t>(100.0 * penalty));
    } else {
      extra_ = std::max(Millis(0), extra_ - Millis(100));
    }
    response_at_ = now + draw(Millis(0), response_window(swarm)) + extra_;
    responses_heard_ = 0;
  }
  // Somebody asked: our own query can wait a full cycle again.
  schedule_query(now);
}

void MdnsPacer::on_response(const PublicKey& node, Time now) {
  const std::size_t swarm = swarm_size(now);  // prunes first, so a returning node counts as new
  const bool fresh = peers_.insert_or_assign(node, now).second;
  if (fresh) {
    // A node we did not know: it needs our record too. We answer once, unsuppressed and without
    // the penalty, so a newcomer learns the swarm in one response window instead of one node per
    // cycle (swarm-discovery lets the newcomer wait); the cost is one response per node per join.
    const Time at = now + draw(Millis(0), response_window(swarm));
    if (!response_at_ || at < *response_at_) response_at_ = at;
    owe_newcomer_ = true;
    return;
  }
  if (!response_at_) return;
  ++responses_heard_;
  const double budget = std::chrono::duration<double>(config_.tau).count() * config_.phi;
  if (static_cast<double>(responses_heard_) > budget && !owe_newcomer_) {
    response_at_.reset();  // enough others answered this query
    responded_last_cycle_ = false;
  }
}

MdnsPacer::Due MdnsPacer::poll(Time now) {
  Due due;
  if (announce_at_ && *announce_at_ <= now) {
    announce_at_.reset();
    due.response = true;
  }
  if (response_at_ && *response_at_ <= now) {
    response_at_.reset();
    responded_last_cycle_ = true;
    owe_newcomer_ = false;
    due.response = true;
  }
  if (query_at_ && *query_at_ <= now) {
    due.query = true;
    schedule_query(now);
    // Our own query is a query too: we answer it like anyone else's (swarm-discovery).
    on_query(now);
  }
  return due;
}

std::optional<Time> MdnsPacer::next_deadline() const {
  std::optional<Time> next;
  for (const auto& at : {query_at_, response_at_, announce_at_}) {
    if (at && (!next || *at < *next)) next = at;
  }
  return next;
}

}  // namespace p2panda::discovery::mdns

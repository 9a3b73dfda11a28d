#include "sim/sim_network.hpp"

#include <algorithm>

namespace p2panda::sim {

SimNetwork::SimNetwork(std::uint64_t seed, LinkConfig default_link)
    : rng_(seed), default_link_(default_link) {}

NodeIndex SimNetwork::add_node(NodeHandler handler) {
  nodes_.push_back(std::move(handler));
  group_.push_back(0);
  return static_cast<NodeIndex>(nodes_.size() - 1);
}

void SimNetwork::set_link(NodeIndex a, NodeIndex b, LinkConfig config) {
  links_[{std::min(a, b), std::max(a, b)}] = config;
}

const LinkConfig& SimNetwork::link(NodeIndex a, NodeIndex b) const {
  auto found = links_.find({std::min(a, b), std::max(a, b)});
  return found == links_.end() ? default_link_ : found->second;
}

bool SimNetwork::reachable(NodeIndex a, NodeIndex b) const { return group_[a] == group_[b]; }

Micros SimNetwork::transit_time(const LinkConfig& config, std::size_t size, Direction& direction) {
  // Serialisation on a bandwidth-limited link queues behind the previous message.
  Micros start = std::max(now_, direction.link_free);
  const Micros serialise =
      config.bytes_per_second ? size * 1'000'000 / config.bytes_per_second : 0;
  direction.link_free = start + serialise;
  Micros delay = config.delay;
  if (config.jitter) delay += rng_() % (config.jitter + 1);
  // Each lost transmission costs a retransmission timeout of about two round trips.
  std::bernoulli_distribution lost(config.loss);
  while (config.loss > 0 && lost(rng_)) {
    delay += 4 * config.delay + 1'000;
    ++stats_.retransmissions;
    stats_.bytes += size;
  }
  const Micros arrival = std::max(direction.link_free + delay, direction.last_delivery);
  direction.last_delivery = arrival;
  return arrival;
}

Result<ConnectionId> SimNetwork::connect(NodeIndex from, NodeIndex to) {
  if (from >= nodes_.size() || to >= nodes_.size() || from == to) {
    return fail(Errc::InvalidArgument, "no such peer");
  }
  if (!reachable(from, to)) return fail(Errc::Io, "peer unreachable (partitioned)");
  const ConnectionId id = next_connection_++;
  connections_.emplace(id, Connection{from, to, false, false, {}, {}});
  // The acceptor learns of the connection after one handshake flight.
  Direction& direction = connections_.at(id).a_to_b;
  const Micros at = transit_time(link(from, to), 64, direction);
  schedule(at, [this, id, to, from] {
    auto found = connections_.find(id);
    if (found == connections_.end() || found->second.broken) return;
    if (nodes_[to].on_accept) nodes_[to].on_accept(id, from);
  });
  return id;
}

void SimNetwork::send(ConnectionId id, NodeIndex from, Bytes message) {
  auto found = connections_.find(id);
  if (found == connections_.end() || found->second.broken || found->second.closing) return;
  Connection& connection = found->second;
  const bool forward = from == connection.a;
  const NodeIndex to = forward ? connection.b : connection.a;
  Direction& direction = forward ? connection.a_to_b : connection.b_to_a;
  stats_.messages += 1;
  stats_.bytes += message.size() + 4;
  const Micros at = transit_time(link(from, to), message.size() + 4, direction);
  schedule(at, [this, id, to, message = std::move(message)]() mutable {
    auto current = connections_.find(id);
    if (current == connections_.end() || current->second.broken) return;
    if (nodes_[to].on_message) nodes_[to].on_message(id, std::move(message));
  });
}

void SimNetwork::close(ConnectionId id, NodeIndex from) {
  auto found = connections_.find(id);
  if (found == connections_.end() || found->second.broken || found->second.closing) return;
  Connection& connection = found->second;
  const bool forward = from == connection.a;
  const NodeIndex to = forward ? connection.b : connection.a;
  Direction& direction = forward ? connection.a_to_b : connection.b_to_a;
  // Ordered behind everything already sent towards `to`, which still arrives first.
  const Micros at = transit_time(link(from, to), 8, direction);
  connection.closing = true;
  schedule(at, [this, id, to] {
    auto current = connections_.find(id);
    if (current == connections_.end() || current->second.broken) return;
    current->second.broken = true;
    if (nodes_[to].on_closed) nodes_[to].on_closed(id, Result<void>{});
    connections_.erase(id);
  });
}

bool SimNetwork::is_open(ConnectionId id) const {
  auto found = connections_.find(id);
  return found != connections_.end() && !found->second.broken && !found->second.closing;
}

void SimNetwork::deliver_closed(ConnectionId id, NodeIndex to, Result<void> reason, Micros at) {
  schedule(at, [this, id, to, reason = std::move(reason)]() mutable {
    if (nodes_[to].on_closed) nodes_[to].on_closed(id, std::move(reason));
  });
}

void SimNetwork::partition(const std::vector<std::vector<NodeIndex>>& groups, Micros detect_after) {
  std::fill(group_.begin(), group_.end(), -1);
  int index = 0;
  for (const auto& members : groups) {
    for (NodeIndex node : members) group_[node] = index;
    ++index;
  }
  // Nodes not named form one more group.
  for (auto& group : group_) {
    if (group < 0) group = index;
  }
  for (auto& [id, connection] : connections_) {
    if (connection.broken || reachable(connection.a, connection.b)) continue;
    connection.broken = true;
    const Error lost(Errc::Io, "connection lost: peer unreachable");
    deliver_closed(id, connection.a, Unexpected{lost}, now_ + detect_after);
    deliver_closed(id, connection.b, Unexpected{lost}, now_ + detect_after);
  }
}

void SimNetwork::heal() { std::fill(group_.begin(), group_.end(), 0); }

void SimNetwork::schedule(Micros at, std::function<void()> callback) {
  events_.push(Event{std::max(at, now_), next_order_++, std::move(callback)});
}

bool SimNetwork::step() {
  if (events_.empty()) return false;
  Event event = events_.top();
  events_.pop();
  now_ = event.at;
  event.callback();
  return true;
}

bool SimNetwork::run_until(const std::function<bool()>& done, Micros deadline) {
  while (!done()) {
    if (events_.empty() || events_.top().at > deadline) return done();
    step();
  }
  return true;
}

void SimNetwork::run_for(Micros duration) {
  const Micros until = now_ + duration;
  while (!events_.empty() && events_.top().at <= until) step();
  now_ = std::max(now_, until);
}

}  // namespace p2panda::sim

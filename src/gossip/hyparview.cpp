#include "gossip/hyparview.hpp"

#include <algorithm>

#include "gossip/random_pick.hpp"

namespace p2panda::gossip {
namespace {

void erase(std::vector<PeerId>& peers, const PeerId& peer) {
  peers.erase(std::remove(peers.begin(), peers.end(), peer), peers.end());
}

}  // namespace

HyParView::HyParView(PeerId me, std::optional<PeerData> me_data, HyParViewConfig config,
                     std::mt19937_64& rng)
    : me_(me), me_data_(std::move(me_data)), config_(config), rng_(rng) {}

bool HyParView::is_active(const PeerId& peer) const { return contains(active_, peer); }
bool HyParView::is_passive(const PeerId& peer) const { return contains(passive_, peer); }

void HyParView::join(const std::vector<PeerId>& peers, Io& io) {
  for (const auto& peer : peers) {
    if (peer == me_) continue;
    if (!contains(bootstrap_, peer)) bootstrap_.push_back(peer);
    io.send(peer, Join{me_data_});
  }
  join_retry_delay_ = config_.join_retry_initial;
  if (config_.join_retry_initial > 0 && !join_retry_scheduled_ && !bootstrap_.empty()) {
    join_retry_scheduled_ = true;
    io.schedule(join_retry_delay_, RetryJoin{});
  }
  if (!shuffle_scheduled_) {
    shuffle_scheduled_ = true;
    io.schedule(config_.shuffle_interval, DoShuffle{});
  }
}

void HyParView::handle_message(const PeerId& from, const Message& message, Io& io) {
  const bool is_disconnect = std::holds_alternative<Disconnect>(message);
  if (const auto* m = std::get_if<Join>(&message)) on_join(from, m->data, io);
  if (const auto* m = std::get_if<ForwardJoin>(&message)) on_forward_join(from, *m, io);
  if (const auto* m = std::get_if<Shuffle>(&message)) on_shuffle(from, *m, io);
  if (const auto* m = std::get_if<ShuffleReply>(&message)) on_shuffle_reply(*m, io);
  if (const auto* m = std::get_if<Neighbor>(&message)) on_neighbor(from, *m, io);
  if (const auto* m = std::get_if<Disconnect>(&message)) on_disconnect(from, *m, io);
  // A peer that talked to us without being (or becoming) a neighbour gets no standing connection.
  if (!is_disconnect && !is_active(from) && !pending_neighbor_requests_.contains(from)) {
    io.emit(DisconnectPeer{from});
  }
  if (!shuffle_scheduled_) {
    shuffle_scheduled_ = true;
    io.schedule(config_.shuffle_interval, DoShuffle{});
  }
}

void HyParView::on_timer(const Timer& timer, Io& io) {
  if (std::holds_alternative<DoShuffle>(timer)) on_shuffle_timer(io);
  if (std::holds_alternative<RetryJoin>(timer)) on_retry_join(io);
  if (const auto* pending = std::get_if<PendingNeighborRequest>(&timer)) {
    if (pending_neighbor_requests_.erase(pending->peer) > 0) {
      erase(passive_, pending->peer);
      refill_active_from_passive({}, io);
    }
  }
}

void HyParView::peer_disconnected(const PeerId& peer, Io& io) {
  pending_neighbor_requests_.erase(peer);
  if (is_active(peer)) {
    remove_active(peer, Removal::ConnectionClosed, io);
  } else if (alive_disconnect_peers_.erase(peer) == 0) {
    erase(passive_, peer);
    peer_data_.erase(peer);
  }
}

void HyParView::quit(Io& io) {
  const std::vector<PeerId> active = active_;
  for (const auto& peer : active) {
    erase(active_, peer);
    io.emit(NeighborDown{peer});
    send_disconnect(peer, false, io);
  }
  bootstrap_.clear();
}

void HyParView::send_disconnect(const PeerId& peer, bool alive, Io& io) {
  send_shuffle_reply(peer, config_.shuffle_active_view_count + config_.shuffle_passive_view_count,
                     io);
  io.send(peer, Disconnect{alive, false});
  io.emit(DisconnectPeer{peer});
}

void HyParView::on_join(const PeerId& from, const std::optional<PeerData>& data, Io& io) {
  add_active(from, data, Priority::High, true, io);
  for (const auto& node : active_) {
    if (node == from) continue;
    io.send(node, ForwardJoin{PeerInfo{from, data}, config_.active_random_walk_length});
  }
}

void HyParView::on_forward_join(const PeerId& from, const ForwardJoin& message, Io& io) {
  const PeerId& peer = message.peer.id;
  if (peer == me_) return;
  // End of the walk (or we are a leaf, or already linked): offer ourselves as a neighbour. The
  // peer joins our active view only when its Neighbor reply arrives.
  if (is_active(peer) || message.ttl == 0 || active_.size() <= 1) {
    insert_peer_info(message.peer, io);
    send_neighbor(peer, Priority::High, io);
    return;
  }
  if (message.ttl == config_.passive_random_walk_length) {
    add_passive(peer, message.peer.data, io);
  }
  if (pending_neighbor_requests_.contains(peer)) return;
  if (auto next = pick_random_without(active_, {from}, rng_)) {
    io.send(*next, ForwardJoin{message.peer, static_cast<std::uint16_t>(message.ttl - 1)});
  }
}

void HyParView::on_neighbor(const PeerId& from, const Neighbor& message, Io& io) {
  const bool is_reply = pending_neighbor_requests_.erase(from) > 0;
  if (!add_active(from, message.data, message.priority, !is_reply, io)) {
    send_disconnect(from, true, io);
  }
}

void HyParView::on_disconnect(const PeerId& from, const Disconnect& message, Io& io) {
  pending_neighbor_requests_.erase(from);
  if (is_active(from)) {
    const auto index = static_cast<std::size_t>(
        std::find(active_.begin(), active_.end(), from) - active_.begin());
    remove_active_at(index, Removal::DisconnectReceived, io);
    if (message.alive) {
      add_passive(from, std::nullopt, io);
      alive_disconnect_peers_.insert(from);
    }
    refill_active_from_passive({from}, io);
  } else if (message.alive && is_passive(from)) {
    alive_disconnect_peers_.insert(from);
  }
}

void HyParView::on_shuffle(const PeerId& from, const Shuffle& message, Io& io) {
  if (message.ttl == 0 || active_.size() <= 1) {
    for (const auto& node : message.nodes) add_passive(node.id, node.data, io);
    send_shuffle_reply(message.origin, message.nodes.size(), io);
    return;
  }
  if (auto next = pick_random_without(active_, {message.origin, from}, rng_)) {
    io.send(*next, Shuffle{message.origin, message.nodes,
                           static_cast<std::uint16_t>(message.ttl - 1)});
  }
}

void HyParView::send_shuffle_reply(const PeerId& to, std::size_t count, Io& io) {
  std::vector<PeerId> nodes = shuffled_without_capped(passive_, {to}, count, rng_);
  if (nodes.size() < count) {
    auto more = shuffled_without_capped(active_, {to}, count - nodes.size(), rng_);
    nodes.insert(nodes.end(), more.begin(), more.end());
  }
  ShuffleReply reply;
  for (const auto& node : nodes) reply.nodes.push_back(peer_info(node));
  io.send(to, std::move(reply));
}

void HyParView::on_shuffle_reply(const ShuffleReply& message, Io& io) {
  for (const auto& node : message.nodes) add_passive(node.id, node.data, io);
  refill_active_from_passive({}, io);
}

void HyParView::on_shuffle_timer(Io& io) {
  if (!active_.empty()) {
    const PeerId target = active_[random_index(active_.size(), rng_)];
    Shuffle shuffle{me_, {}, config_.shuffle_random_walk_length};
    for (const auto& peer :
         shuffled_without_capped(active_, {target}, config_.shuffle_active_view_count, rng_)) {
      shuffle.nodes.push_back(peer_info(peer));
    }
    for (const auto& peer :
         shuffled_without_capped(passive_, {target}, config_.shuffle_passive_view_count, rng_)) {
      shuffle.nodes.push_back(peer_info(peer));
    }
    shuffle.nodes.push_back(PeerInfo{me_, me_data_});
    io.send(target, std::move(shuffle));
  }
  io.schedule(config_.shuffle_interval, DoShuffle{});
}

void HyParView::on_retry_join(Io& io) {
  join_retry_scheduled_ = false;
  if (!active_.empty() || !pending_neighbor_requests_.empty() || bootstrap_.empty()) return;
  for (const auto& peer : bootstrap_) io.send(peer, Join{me_data_});
  join_retry_delay_ = std::min(join_retry_delay_ * 2, config_.join_retry_max);
  join_retry_scheduled_ = true;
  io.schedule(join_retry_delay_, RetryJoin{});
}

void HyParView::add_passive(const PeerId& peer, const std::optional<PeerData>& data, Io& io) {
  insert_peer_info(PeerInfo{peer, data}, io);
  if (peer == me_ || is_active(peer) || is_passive(peer)) return;
  if (passive_.size() >= config_.passive_view_capacity && !passive_.empty()) {
    passive_.erase(passive_.begin() +
                   static_cast<std::ptrdiff_t>(random_index(passive_.size(), rng_)));
  }
  passive_.push_back(peer);
}

void HyParView::remove_active(const PeerId& peer, Removal reason, Io& io) {
  auto found = std::find(active_.begin(), active_.end(), peer);
  if (found == active_.end()) return;
  remove_active_at(static_cast<std::size_t>(found - active_.begin()), reason, io);
  refill_active_from_passive({peer}, io);
}

void HyParView::remove_active_at(std::size_t index, Removal reason, Io& io) {
  const PeerId peer = active_[index];
  active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(index));
  io.emit(NeighborDown{peer});
  if (reason == Removal::Random) {
    send_disconnect(peer, true, io);
    add_passive(peer, std::nullopt, io);
    alive_disconnect_peers_.insert(peer);
  } else {
    io.emit(DisconnectPeer{peer});
    if (reason == Removal::ConnectionClosed && alive_disconnect_peers_.erase(peer) > 0) {
      add_passive(peer, std::nullopt, io);
    }
  }
  // Lost our last neighbour with nobody to ask: go back to the bootstrap peers.
  if (active_.empty() && config_.join_retry_initial > 0 && !join_retry_scheduled_ &&
      !bootstrap_.empty()) {
    join_retry_delay_ = config_.join_retry_initial;
    join_retry_scheduled_ = true;
    io.schedule(join_retry_delay_, RetryJoin{});
  }
}

void HyParView::refill_active_from_passive(const std::vector<PeerId>& skip, Io& io) {
  if (active_.size() + pending_neighbor_requests_.size() >= config_.active_view_capacity) return;
  std::vector<PeerId> excluded = skip;
  excluded.insert(excluded.end(), pending_neighbor_requests_.begin(),
                  pending_neighbor_requests_.end());
  if (auto node = pick_random_without(passive_, excluded, rng_)) {
    send_neighbor(*node, active_.empty() ? Priority::High : Priority::Low, io);
    io.schedule(config_.neighbor_request_timeout, PendingNeighborRequest{*node});
  }
}

bool HyParView::add_active(const PeerId& peer, const std::optional<PeerData>& data,
                           Priority priority, bool reply, Io& io) {
  if (peer == me_) return false;
  insert_peer_info(PeerInfo{peer, data}, io);
  if (is_active(peer)) {
    if (reply) send_neighbor(peer, priority, io);
    return true;
  }
  const bool full = active_.size() >= config_.active_view_capacity;
  if (priority == Priority::Low && full) return false;
  if (full && !active_.empty()) {
    remove_active_at(random_index(active_.size(), rng_), Removal::Random, io);
  }
  erase(passive_, peer);
  active_.push_back(peer);
  io.emit(NeighborUp{peer});
  if (reply) send_neighbor(peer, priority, io);
  return true;
}

void HyParView::send_neighbor(const PeerId& peer, Priority priority, Io& io) {
  if (pending_neighbor_requests_.insert(peer).second) io.send(peer, Neighbor{priority, me_data_});
}

void HyParView::insert_peer_info(const PeerInfo& info, Io& io) {
  if (!info.data) return;
  auto found = peer_data_.find(info.id);
  const bool same = found != peer_data_.end() && found->second == *info.data;
  if (!same && !info.data->empty()) io.emit(PeerDataLearned{info.id, *info.data});
  peer_data_[info.id] = *info.data;
}

PeerInfo HyParView::peer_info(const PeerId& peer) const {
  auto found = peer_data_.find(peer);
  if (found == peer_data_.end()) return PeerInfo{peer, std::nullopt};
  return PeerInfo{peer, found->second};
}

}  // namespace p2panda::gossip

#include "gossip/plumtree.hpp"

#include <algorithm>

namespace p2panda::gossip {
namespace {

template <class Map>
void expire(Map& map, Micros now, Micros (*expiry)(const typename Map::mapped_type&)) {
  for (auto it = map.begin(); it != map.end();) {
    it = expiry(it->second) <= now ? map.erase(it) : std::next(it);
  }
}

}  // namespace

PlumTree::PlumTree(PeerId me, PlumTreeConfig config, std::size_t max_payload_size)
    : me_(me), config_(config), max_payload_size_(max_payload_size) {}

void PlumTree::init(Micros now, Io& io) {
  if (initialised_) return;
  initialised_ = true;
  on_timer(EvictCache{}, now, io);
}

void PlumTree::broadcast(Bytes content, Scope scope, Micros now, Io& io) {
  init(now, io);
  Gossip message{MessageId::from_content(content), std::move(content),
                 scope == Scope::Swarm ? DeliveryScope::swarm(0) : DeliveryScope::neighbors()};
  if (scope == Scope::Swarm) {
    received_[message.id] = now + config_.message_id_retention;
    cache_[message.id] = {message, now + config_.message_cache_retention};
    lazy_push(message, me_, io);
  }
  eager_push(message, me_, io);
}

void PlumTree::handle_message(const PeerId& from, const Message& message, Micros now, Io& io) {
  init(now, io);
  if (const auto* gossip = std::get_if<Gossip>(&message)) {
    ++stats_.payload_messages_received;
    on_gossip(from, *gossip, now, io);
    return;
  }
  ++stats_.control_messages_received;
  if (std::holds_alternative<Prune>(message)) add_lazy(from);
  if (const auto* ihave = std::get_if<IHave>(&message)) on_ihave(from, *ihave, io);
  if (const auto* graft = std::get_if<Graft>(&message)) on_graft(from, *graft, io);
}

void PlumTree::on_gossip(const PeerId& from, const Gossip& message, Micros now, Io& io) {
  // A spoofed id would poison the duplicate filter for the real message: drop it.
  if (MessageId::from_content(message.content) != message.id) return;
  if (received_.contains(message.id)) {
    add_lazy(from);
    io.send(from, Prune{});
    return;
  }
  if (message.scope.round) {
    const std::uint16_t round = *message.scope.round;
    received_[message.id] = now + config_.message_id_retention;
    Gossip next = message;
    next.scope.round = static_cast<std::uint16_t>(round == UINT16_MAX ? round : round + 1);
    cache_[message.id] = {next, now + config_.message_cache_retention};
    eager_push(next, from, io);
    lazy_push(next, from, io);
    graft_scheduled_.erase(message.id);
    auto announced = missing_.find(message.id);
    if (announced != missing_.end()) {
      const auto entries = std::move(announced->second);
      missing_.erase(announced);
      optimize_tree(from, *next.scope.round, entries, io);
    }
    stats_.max_last_delivery_hop = std::max(stats_.max_last_delivery_hop, round);
  }
  io.emit(Received{message.content, from, message.scope});
}

void PlumTree::optimize_tree(const PeerId& sender, std::uint16_t round,
                             const std::deque<std::pair<PeerId, std::uint16_t>>& announced,
                             Io& io) {
  // The earliest announcement (fewest hops); ties keep arrival order.
  auto best = std::min_element(announced.begin(), announced.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  if (best == announced.end()) return;
  const auto [peer, ihave_round] = *best;
  if (ihave_round >= round || round - ihave_round < config_.optimization_threshold) return;
  if (!eager_.contains(peer)) {
    add_eager(peer);
    io.send(peer, Graft{std::nullopt, ihave_round});
  }
  add_lazy(sender);
  io.send(sender, Prune{});
}

void PlumTree::on_ihave(const PeerId& from, const IHave& message, Io& io) {
  for (const auto& entry : message.entries) {
    if (received_.contains(entry.id)) continue;
    missing_[entry.id].emplace_back(from, entry.round);
    if (graft_scheduled_.insert(entry.id).second) {
      io.schedule(config_.graft_timeout_1, SendGraft{entry.id});
    }
  }
}

void PlumTree::on_send_graft(const MessageId& id, Io& io) {
  graft_scheduled_.erase(id);
  if (received_.contains(id)) return;
  auto found = missing_.find(id);
  if (found == missing_.end() || found->second.empty()) return;
  const auto [peer, round] = found->second.front();
  found->second.pop_front();
  add_eager(peer);
  io.send(peer, Graft{id, round});
  // Try the next announcer if this one does not deliver in time.
  graft_scheduled_.insert(id);
  io.schedule(config_.graft_timeout_2, SendGraft{id});
}

void PlumTree::on_graft(const PeerId& from, const Graft& message, Io& io) {
  add_eager(from);
  if (!message.id) return;
  auto found = cache_.find(*message.id);
  if (found != cache_.end()) io.send(from, found->second.first);
}

void PlumTree::neighbor_up(const PeerId& peer, Micros now, Io& io) {
  init(now, io);
  add_eager(peer);
}

void PlumTree::neighbor_down(const PeerId& peer, Micros now, Io& io) {
  init(now, io);
  for (auto it = missing_.begin(); it != missing_.end();) {
    auto& entries = it->second;
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](const auto& entry) { return entry.first == peer; }),
                  entries.end());
    it = entries.empty() ? missing_.erase(it) : std::next(it);
  }
  eager_.erase(peer);
  lazy_.erase(peer);
}

void PlumTree::on_timer(const Timer& timer, Micros now, Io& io) {
  if (const auto* graft = std::get_if<SendGraft>(&timer)) on_send_graft(graft->id, io);
  if (std::holds_alternative<DispatchLazyPush>(timer)) on_dispatch(io);
  if (std::holds_alternative<EvictCache>(timer)) {
    expire(received_, now, +[](const Micros& expiry) { return expiry; });
    expire(cache_, now,
           +[](const std::pair<Gossip, Micros>& entry) { return entry.second; });
    io.schedule(config_.cache_evict_interval, EvictCache{});
  }
}

void PlumTree::on_dispatch(Io& io) {
  // Room for the variant index and a two-byte length prefix, as iroh-gossip reserves.
  const std::size_t chunk = std::max<std::size_t>(1, (max_payload_size_ - 3) / kIHaveEntryMaxSize);
  for (auto& [peer, entries] : lazy_queue_) {
    for (std::size_t start = 0; start < entries.size(); start += chunk) {
      const std::size_t end = std::min(entries.size(), start + chunk);
      io.send(peer, IHave{{entries.begin() + static_cast<std::ptrdiff_t>(start),
                           entries.begin() + static_cast<std::ptrdiff_t>(end)}});
    }
  }
  lazy_queue_.clear();
  dispatch_scheduled_ = false;
}

void PlumTree::eager_push(const Gossip& message, const PeerId& except, Io& io) {
  for (const auto& peer : eager_) {
    if (peer != me_ && peer != except) io.send(peer, message);
  }
}

void PlumTree::lazy_push(const Gossip& message, const PeerId& except, Io& io) {
  if (!message.scope.round) return;
  for (const auto& peer : lazy_) {
    if (peer != except) lazy_queue_[peer].push_back({message.id, *message.scope.round});
  }
  if (!dispatch_scheduled_) {
    dispatch_scheduled_ = true;
    io.schedule(config_.dispatch_timeout, DispatchLazyPush{});
  }
}

void PlumTree::add_eager(const PeerId& peer) {
  lazy_.erase(peer);
  eager_.insert(peer);
}

void PlumTree::add_lazy(const PeerId& peer) {
  eager_.erase(peer);
  lazy_.insert(peer);
}

}  // namespace p2panda::gossip

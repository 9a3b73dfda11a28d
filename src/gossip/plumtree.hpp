// PlumTree broadcast for one topic, as iroh-gossip 0.101 runs it: payloads go eagerly along a
// spanning tree (eager peers) and only as IHave announcements to the others (lazy peers). A
// duplicate prunes its sender to lazy; a missing message announced by IHave is grafted back
// after a timeout, which repairs the tree. Behaviour: docs/gossip.md, "Broadcast".
//
// Sans-IO: callers pass `now`; outputs and timers go to an Io. Not thread-safe: one owner
// (gossip::TopicState).
#pragma once

#include <deque>
#include <map>
#include <set>
#include <vector>

#include "gossip/events.hpp"

namespace p2panda::gossip {

struct PlumTreeConfig {
  Micros graft_timeout_1 = 80'000;
  Micros graft_timeout_2 = 40'000;
  Micros dispatch_timeout = 5'000;
  std::uint16_t optimization_threshold = 7;
  Micros message_cache_retention = 30'000'000;
  Micros message_id_retention = 90'000'000;
  Micros cache_evict_interval = 1'000'000;
};

enum class Scope { Swarm, Neighbors };

struct PlumTreeStats {
  std::uint64_t payload_messages_received = 0;
  std::uint64_t control_messages_received = 0;
  std::uint16_t max_last_delivery_hop = 0;
};

class PlumTree {
 public:
  // `max_payload_size`: the largest topic::Message body allowed (IHave lists are chunked to it).
  PlumTree(PeerId me, PlumTreeConfig config, std::size_t max_payload_size);

  // Every entry point first arms the cache eviction timer once.
  void broadcast(Bytes content, Scope scope, Micros now, Io& io);
  // REQUIRES: `message` holds one of the four plumtree alternatives.
  void handle_message(const PeerId& from, const Message& message, Micros now, Io& io);
  void neighbor_up(const PeerId& peer, Micros now, Io& io);
  void neighbor_down(const PeerId& peer, Micros now, Io& io);
  void on_timer(const Timer& timer, Micros now, Io& io);

  const std::set<PeerId>& eager_peers() const { return eager_; }
  const std::set<PeerId>& lazy_peers() const { return lazy_; }
  std::size_t cache_size() const { return cache_.size(); }
  const PlumTreeStats& stats() const { return stats_; }

 private:
  void init(Micros now, Io& io);
  void on_gossip(const PeerId& from, const Gossip& message, Micros now, Io& io);
  void on_ihave(const PeerId& from, const IHave& message, Io& io);
  void on_graft(const PeerId& from, const Graft& message, Io& io);
  void on_send_graft(const MessageId& id, Io& io);
  void on_dispatch(Io& io);
  void optimize_tree(const PeerId& sender, std::uint16_t round,
                     const std::deque<std::pair<PeerId, std::uint16_t>>& announced, Io& io);
  void eager_push(const Gossip& message, const PeerId& except, Io& io);
  void lazy_push(const Gossip& message, const PeerId& except, Io& io);
  void add_eager(const PeerId& peer);
  void add_lazy(const PeerId& peer);

  PeerId me_;
  PlumTreeConfig config_;
  std::size_t max_payload_size_;
  bool initialised_ = false;
  std::set<PeerId> eager_;
  std::set<PeerId> lazy_;
  std::map<PeerId, std::vector<IHaveEntry>> lazy_queue_;
  std::map<MessageId, std::deque<std::pair<PeerId, std::uint16_t>>> missing_;
  std::map<MessageId, Micros> received_;  // id -> expiry
  std::map<MessageId, std::pair<Gossip, Micros>> cache_;  // id -> (message, expiry)
  std::set<MessageId> graft_scheduled_;
  bool dispatch_scheduled_ = false;
  PlumTreeStats stats_;
};

}  // namespace p2panda::gossip

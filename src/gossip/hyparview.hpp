// HyParView membership for one topic, as iroh-gossip 0.101 runs it: a small active view of peers
// we hold connections to (the broadcast tree's neighbours) and a larger passive view of known
// peers used to refill it. Joins spread by random walks (ForwardJoin), the passive view is kept
// fresh by periodic Shuffle walks. Behaviour and deviations: docs/gossip.md, "Membership".
//
// Sans-IO: every call appends what to send and which timers to set to an Io; randomness comes
// from the generator the owner passes in. Not thread-safe: one owner (gossip::TopicState).
#pragma once

#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "gossip/events.hpp"

namespace p2panda::gossip {

struct HyParViewConfig {
  std::size_t active_view_capacity = 5;
  std::size_t passive_view_capacity = 30;
  std::uint16_t active_random_walk_length = 6;
  std::uint16_t passive_random_walk_length = 3;
  std::uint16_t shuffle_random_walk_length = 6;
  std::size_t shuffle_active_view_count = 3;
  std::size_t shuffle_passive_view_count = 4;
  Micros shuffle_interval = 60'000'000;
  Micros neighbor_request_timeout = 500'000;
  // Not in iroh-gossip: while the active view is empty, re-send Join to the bootstrap peers after
  // this delay, doubling up to join_retry_max (0 disables). See docs/gossip.md, "Late joiners".
  Micros join_retry_initial = 1'000'000;
  Micros join_retry_max = 30'000'000;
};

class HyParView {
 public:
  HyParView(PeerId me, std::optional<PeerData> me_data, HyParViewConfig config,
            std::mt19937_64& rng);

  // Sends Join to each peer (they need not be connected yet).
  void join(const std::vector<PeerId>& peers, Io& io);
  // REQUIRES: `message` holds one of the six hyparview alternatives.
  void handle_message(const PeerId& from, const Message& message, Io& io);
  void peer_disconnected(const PeerId& peer, Io& io);
  void on_timer(const Timer& timer, Io& io);
  // Leaves: Disconnect{alive: false} to every active peer.
  void quit(Io& io);
  void update_peer_data(PeerData data) { me_data_ = std::move(data); }

  const std::vector<PeerId>& active_view() const { return active_; }
  const std::vector<PeerId>& passive_view() const { return passive_; }
  bool is_active(const PeerId& peer) const;

 private:
  enum class Removal { ConnectionClosed, DisconnectReceived, Random };

  void on_join(const PeerId& from, const std::optional<PeerData>& data, Io& io);
  void on_forward_join(const PeerId& from, const ForwardJoin& message, Io& io);
  void on_shuffle(const PeerId& from, const Shuffle& message, Io& io);
  void on_shuffle_reply(const ShuffleReply& message, Io& io);
  void on_neighbor(const PeerId& from, const Neighbor& message, Io& io);
  void on_disconnect(const PeerId& from, const Disconnect& message, Io& io);
  void on_shuffle_timer(Io& io);
  void on_retry_join(Io& io);
  void send_disconnect(const PeerId& peer, bool alive, Io& io);
  void send_neighbor(const PeerId& peer, Priority priority, Io& io);
  void send_shuffle_reply(const PeerId& to, std::size_t count, Io& io);
  bool add_active(const PeerId& peer, const std::optional<PeerData>& data, Priority priority,
                  bool reply, Io& io);
  void add_passive(const PeerId& peer, const std::optional<PeerData>& data, Io& io);
  void remove_active(const PeerId& peer, Removal reason, Io& io);
  void remove_active_at(std::size_t index, Removal reason, Io& io);
  void refill_active_from_passive(const std::vector<PeerId>& skip, Io& io);
  void insert_peer_info(const PeerInfo& info, Io& io);
  PeerInfo peer_info(const PeerId& peer) const;
  bool is_passive(const PeerId& peer) const;

  PeerId me_;
  std::optional<PeerData> me_data_;
  HyParViewConfig config_;
  std::mt19937_64& rng_;
  std::vector<PeerId> active_;
  std::vector<PeerId> passive_;
  std::set<PeerId> pending_neighbor_requests_;
  std::set<PeerId> alive_disconnect_peers_;
  std::map<PeerId, PeerData> peer_data_;
  bool shuffle_scheduled_ = false;
  std::vector<PeerId> bootstrap_;
  Micros join_retry_delay_ = 0;
  bool join_retry_scheduled_ = false;
};

}  // namespace p2panda::gossip

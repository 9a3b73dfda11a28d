// TopicState: the gossip state machine of one topic (iroh-gossip's `topic::State`): HyParView
// membership feeding PlumTree broadcast. The driver (net layer or a simulation) calls one input
// method per event and carries out the returned outputs in order; it asks next_deadline() when
// to call handle_timeout(). NeighborUp/NeighborDown outputs are also fed to PlumTree internally,
// so the eager/lazy sets follow the active view.
//
// Sans-IO and deterministic: time is the caller's `now` (microseconds, monotonic), randomness a
// generator seeded from the constructor's `seed`. Not thread-safe: one owner thread.
#pragma once

#include <map>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "gossip/framing.hpp"
#include "gossip/hyparview.hpp"
#include "gossip/plumtree.hpp"

namespace p2panda::gossip {

struct TopicConfig {
  HyParViewConfig membership;
  PlumTreeConfig broadcast;
  // Largest frame body on the wire (iroh: a body must be smaller than this). At least 512.
  std::size_t max_message_size = kDefaultMaxMessageSize;
};

class TopicState {
 public:
  // REQUIRES: config.max_message_size >= kMinMaxMessageSize.
  TopicState(PeerId me, std::optional<PeerData> me_data, TopicConfig config, std::uint64_t seed);

  // Sends Join to each bootstrap peer; retries while no neighbour answers (docs/gossip.md).
  std::vector<Output> join(std::span<const PeerId> peers, Micros now);
  std::vector<Output> handle_message(const PeerId& from, const Message& message, Micros now);
  // The connection to `peer` ended (closed by either side, or failed to open).
  std::vector<Output> peer_disconnected(const PeerId& peer, Micros now);
  // Errors: FrameTooLarge when the Gossip message carrying `content` would not fit
  // max_message_size (nothing is sent then).
  Result<std::vector<Output>> broadcast(Bytes content, Scope scope, Micros now);
  // Runs every timer due at `now`.
  std::vector<Output> handle_timeout(Micros now);
  std::vector<Output> quit(Micros now);
  void update_peer_data(PeerData data) { membership_.update_peer_data(std::move(data)); }

  // When handle_timeout() next has work; nullopt when no timer is set.
  std::optional<Micros> next_deadline() const;

  // The largest broadcast content accepted.
  std::size_t max_content_size() const;

  const PeerId& me() const { return me_; }
  const std::vector<PeerId>& active_view() const { return membership_.active_view(); }
  const std::vector<PeerId>& passive_view() const { return membership_.passive_view(); }
  const std::set<PeerId>& eager_peers() const { return broadcast_.eager_peers(); }
  const std::set<PeerId>& lazy_peers() const { return broadcast_.lazy_peers(); }
  const PlumTreeStats& broadcast_stats() const { return broadcast_.stats(); }

 private:
  std::vector<Output> finish(Io& io, Micros now);

  PeerId me_;
  TopicConfig config_;
  std::mt19937_64 rng_;
  HyParView membership_;
  PlumTree broadcast_;
  std::multimap<Micros, Timer> timers_;
};

}  // namespace p2panda::gossip

// NodeGossip: the node's use of gossip. It owns the GossipDriver and wires it to the rest:
// - every followed topic joins a gossip overlay for peer sampling, on the topic id p2panda 0.7
//   derives for it (BLAKE3(topic || a fixed mix value), p2panda-net sync/actors/manager.rs); its
//   neighbours become that topic's sync peers (SyncManager::add_topic_peer) and leave again when
//   they go down;
// - ephemeral streams join the overlay of the raw topic id and carry signed EphemeralMessages;
// - system events (events.hpp, SystemEvent) are fanned out to every open event stream.
// Node thread only, except the counters (atomics).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>

#include <p2panda/ephemeral_stream.hpp>

#include "node/gossip_driver.hpp"
#include "node/mailbox.hpp"

namespace p2panda::node {
class SyncManager;
}

namespace p2panda::detail {

struct EphemeralInbox {
  node::Mailbox<EphemeralMessage> mailbox{256};
};
struct EventInbox {
  node::Mailbox<SystemEvent> mailbox{1024};
};

struct GossipCounters {
  std::atomic<std::uint64_t> published{0}, received{0}, rejected{0};
};

class NodeGossip {
 public:
  // mode: V101 (p2panda 0.7) or V035 (iroh-gossip 0.35 peers; see NodeConfig::gossip_mode).
  NodeGossip(net::Transport& transport, const PrivateKey& key, const NetworkId& network,
             node::SyncManager& sync, gossip::Mode mode);
  void start();

  // The sync overlay of a followed topic.
  void follow(const Topic& topic);
  // Leaves that overlay: its neighbours go down, and with them the topic's gossip sync peers.
  void unfollow(const Topic& topic);
  // A peer known by address (bootstrap, insert_bootstrap): offered to every overlay.
  void add_peer(const net::PeerAddress& peer, PeerDiscovered::Via via);

  // Joins the topic's ephemeral overlay until as many release_ephemeral() calls came; returns
  // the subscription's inbox.
  std::shared_ptr<EphemeralInbox> subscribe_ephemeral(const Topic& topic);
  // One opened ephemeral stream of `topic` is gone; after the last, the overlay is left. Returns
  // whether it was.
  bool release_ephemeral(const Topic& topic);
  // Errors: FrameTooLarge, Cbor* (body is not one CBOR item).
  Result<void> publish_ephemeral(const Topic& topic, ByteSpan body);

  std::shared_ptr<EventInbox> subscribe_events();
  void emit(const SystemEvent& event);

  // Every gossip topic id joined: sync overlays and ephemeral topics (what confidential topic
  // discovery calls our topics, docs/discovery.md).
  std::set<Topic> joined_topics() const;
  // Gossip neighbours of a topic's sync overlay (tests, tools).
  std::vector<NodeId> sync_neighbors(const Topic& topic) const;
  const GossipCounters& counters() const { return counters_; }

  void shutdown();
  void release() { driver_.release(); }  // GossipDriver::release
  void addresses_changed() { driver_.addresses_changed(); }  // GossipDriver::addresses_changed

 private:
  void on_neighbor(const Topic& gossip_topic, const NodeId& peer, bool up);
  void on_received(const Topic& gossip_topic, const Bytes& content);
  std::vector<NodeId> known_peers() const;

  const PrivateKey& key_;
  node::SyncManager& sync_;
  node::GossipDriver driver_;
  std::map<Topic, Topic> sync_topics_;  // derived gossip topic -> followed topic
  std::map<Topic, std::vector<std::weak_ptr<EphemeralInbox>>> ephemeral_;
  std::map<Topic, std::size_t> ephemeral_held_;  // opened ephemeral streams not yet released
  std::vector<std::weak_ptr<EventInbox>> events_;
  std::map<NodeId, net::PeerAddress> peers_;
  std::uint64_t last_micros_ = 0, lamport_ = 0;  // the hybrid clock of our ephemeral messages
  GossipCounters counters_;
};

// p2panda 0.7's topic for the sync overlay of `topic`.
Topic sync_overlay_topic(const Topic& topic);

}  // namespace p2panda::detail

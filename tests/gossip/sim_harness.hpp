// GossipSwarm: N gossip::TopicState cores driven over a SimNetwork, the way the net layer drives
// them over QUIC in 0.101 mode: one connection per peer pair, each direction a stream that starts
// with a StreamHeader frame followed by message frames (gossip/framing.hpp). A SendMessage to an
// unconnected peer dials it; a failed dial or a closed connection becomes peer_disconnected;
// DisconnectPeer closes the connection gracefully. Each core's next_deadline() is scheduled as a
// simulator event. Records deliveries and neighbour events for assertions. Test-only, one thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "gossip/topic_state.hpp"
#include "sim/sim_network.hpp"

namespace p2panda::gossip::testing {

struct Delivery {
  std::size_t node;
  MessageId id;
  Micros at;
  PeerId from;
};

class GossipSwarm {
 public:
  GossipSwarm(std::uint64_t seed, sim::LinkConfig link, TopicConfig config = {});

  // Adds a node (not yet joined). Links to existing nodes get a one-way delay drawn uniformly from
  // [min_delay, max_delay] when max_delay > 0, else the default link.
  std::size_t add_node(Micros min_delay = 0, Micros max_delay = 0);
  void join(std::size_t node, const std::vector<std::size_t>& bootstrap);
  // Errors: as TopicState::broadcast.
  Result<MessageId> broadcast(std::size_t node, Bytes content);
  void quit(std::size_t node);

  sim::SimNetwork& network() { return network_; }
  TopicState& core(std::size_t node) { return *nodes_[node]->core; }
  std::size_t size() const { return nodes_.size(); }
  PeerId peer_id(std::size_t node) const { return nodes_[node]->id; }
  std::size_t index_of(const PeerId& peer) const { return by_id_.at(peer); }

  // Active views form one connected undirected graph.
  bool overlay_connected() const;
  // How often `node` delivered message `id` (0 if never).
  std::size_t delivered_count(std::size_t node, const MessageId& id) const;
  // Nodes (other than the sender) that delivered `id`.
  std::size_t receivers(const MessageId& id) const;
  Micros broadcast_time(const MessageId& id) const { return sent_at_.at(id); }
  const std::vector<Delivery>& deliveries() const { return deliveries_; }
  // Neighbour set as told by NeighborUp/NeighborDown events.
  const std::set<PeerId>& event_neighbors(std::size_t node) const {
    return nodes_[node]->neighbors;
  }
  // Peers `node` holds an open connection to.
  std::set<PeerId> connected_peers(std::size_t node) const;
  std::uint64_t neighbor_events() const { return neighbor_events_; }
  std::uint64_t event_errors() const { return event_errors_; }  // Up twice / Down without Up

 private:
  struct Node {
    PeerId id;
    std::unique_ptr<TopicState> core;
    std::map<PeerId, std::vector<sim::ConnectionId>> connections;  // open, newest last
    std::map<sim::ConnectionId, PeerId> remote_of;
    std::map<sim::ConnectionId, StreamReaderV101> readers;
    std::set<sim::ConnectionId> header_sent;
    std::optional<Micros> armed;
    std::set<PeerId> neighbors;
  };

  void apply(std::size_t node, std::vector<Output> outputs);
  void send(std::size_t node, const PeerId& to, const Message& message);
  void disconnect(std::size_t node, const PeerId& peer);
  void on_accept(std::size_t node, sim::ConnectionId connection, sim::NodeIndex remote);
  void on_message(std::size_t node, sim::ConnectionId connection, Bytes bytes);
  void on_closed(std::size_t node, sim::ConnectionId connection);
  void arm(std::size_t node);
  void forget(Node& state, sim::ConnectionId connection);

  sim::SimNetwork network_;
  TopicConfig config_;
  Topic topic_;
  std::mt19937_64 link_rng_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<PeerId, std::size_t> by_id_;
  std::map<MessageId, Micros> sent_at_;
  std::map<std::pair<std::size_t, MessageId>, std::size_t> delivered_;
  std::vector<Delivery> deliveries_;
  std::uint64_t neighbor_events_ = 0;
  std::uint64_t event_errors_ = 0;
};

}  // namespace p2panda::gossip::testing

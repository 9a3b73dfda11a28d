// GossipDriver: runs the sans-IO gossip cores (gossip/topic_state.hpp, one TopicState per joined
// topic) over the node's net::Transport, in one of iroh-gossip's two transport layouts
// (docs/gossip.md, "Driver"), always one connection per peer on the gossip ALPN:
// - Mode::V101 (iroh-gossip 0.101, p2panda 0.7; the default): one unidirectional stream per
//   (direction, topic) that opens with StreamHeader{topic}, then u32 big-endian length frames
//   around postcard topic::Messages, and FIN after a Disconnect;
// - Mode::V035 (iroh-gossip 0.35, for its npm node): one bidirectional stream per connection that
//   the dialer opens and writes first, shared by all topics, every frame a ProtoMessage{topic,
//   message}; it ends (FIN) when no topic uses the peer any more. It dials peers by node id with the addresses it knows (bootstrap
// peers, and PeerData learnt from gossip), feeds the cores' timers, and reports neighbours and
// delivered broadcasts through callbacks. Node thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>

#include "gossip/topic_state.hpp"
#include "net/transport.hpp"
#include "node/signal.hpp"

namespace p2panda::node {

struct GossipCallbacks {
  // A peer entered (up) or left (down) the topic's active view.
  std::function<void(const Topic&, const NodeId&, bool up)> neighbor;
  // A broadcast delivered for the first time.
  std::function<void(const Topic&, const Bytes& content, const NodeId& from)> received;
  // Addresses learnt about a peer from its gossip PeerData.
  std::function<void(const net::PeerAddress&)> learned;
};

class GossipDriver {
 public:
  GossipDriver(net::Transport& transport, Bytes alpn, gossip::TopicConfig config,
               std::uint64_t seed, GossipCallbacks callbacks);
  GossipDriver(net::Transport& transport, Bytes alpn, gossip::Mode mode,
               gossip::TopicConfig config, std::uint64_t seed, GossipCallbacks callbacks);
  ~GossipDriver();

  void start();  // registers the ALPN
  // Joins `topic` (no-op when joined), sending Join to the known peers among `peers`.
  void join(const Topic& topic, const std::vector<NodeId>& peers);
  bool joined(const Topic& topic) const { return topics_.contains(topic); }
  // Leaves `topic` (no-op when not joined): Disconnect to its neighbours, who hear NeighborDown
  // as we do, and its state is dropped. A later join starts afresh.
  void leave(const Topic& topic);
  // Sends Join for `topic` to `peer` (a peer known to be interested in it), if the topic is
  // joined and the peer is not a neighbour yet.
  void offer(const Topic& topic, const NodeId& peer);
  // A peer to dial by id from now on; joins it into every topic (p2panda's healer).
  void add_peer(const net::PeerAddress& peer);
  // Errors: FrameTooLarge when `content` exceeds the topic's max_content_size(); InvalidArgument
  // when the topic is not joined.
  Result<void> broadcast(const Topic& topic, Bytes content);
  std::vector<NodeId> neighbors(const Topic& topic) const;
  // Our reachable addresses changed: the peer data our Join and Neighbor messages carry
  // (GossipAddrInfo) is re-read for every joined topic. Peers learn it on our next message.
  void addresses_changed();
  // Quits every topic (Disconnect to the neighbours) and stops all loops.
  void shutdown();
  // Drops the connections it holds: their objects must not outlive the transport's executor (a
  // simulated connection's timers belong to it). Call after shutdown(), before the executor goes.
  void release() { connections_.clear(); }

 private:
  struct Outbox;
  struct TopicEntry;
  void apply(const Topic& topic, std::vector<gossip::Output> outputs);
  void send(const Topic& topic, const NodeId& to, const gossip::Message& message);
  void drop_peer(const NodeId& peer);
  Bytes own_peer_data() const;
  net::Awaitable<void> tick(Topic topic, std::shared_ptr<TopicEntry> entry);
  net::Awaitable<void> write_loop(Topic topic, NodeId peer, std::shared_ptr<Outbox> outbox);
  net::Awaitable<Result<net::ConnectionHandle>> connection(NodeId peer);
  net::Awaitable<void> serve(net::ConnectionHandle connection);
  net::Awaitable<void> read_loop(net::ConnectionHandle connection, net::StreamHandle stream);
  void adopt(const net::ConnectionHandle& connection);
  // Forgets an ended connection; without any left, the peer is disconnected for every topic.
  void forget(const net::ConnectionHandle& connection);

  // Mode::V035 (gossip_driver_v035.cpp): one shared stream per peer.
  void send_v035(const Topic& topic, const NodeId& to, const gossip::Message& message);
  void disconnect_v035(const Topic& topic, const NodeId& peer);
  void close_link(const NodeId& peer, bool flush);
  net::Awaitable<void> write_loop_v035(NodeId peer, std::shared_ptr<Outbox> outbox);
  net::Awaitable<void> accept_v035(net::ConnectionHandle connection);
  net::Awaitable<void> read_loop_v035(net::ConnectionHandle connection, net::StreamHandle stream);

  net::Transport& transport_;
  Bytes alpn_;
  gossip::Mode mode_;
  gossip::TopicConfig config_;
  std::uint64_t seed_;
  GossipCallbacks callbacks_;
  std::map<NodeId, net::PeerAddress> book_;
  std::map<NodeId, std::vector<net::ConnectionHandle>> connections_;
  std::map<Topic, std::shared_ptr<TopicEntry>> topics_;
  std::map<NodeId, std::shared_ptr<Outbox>> links_;  // V035: the shared stream to each peer
  bool stopped_ = false;
};

}  // namespace p2panda::node

#include "node/gossip_node.hpp"

#include <random>

#include "node/sync_manager.hpp"

namespace p2panda::detail {
namespace {

// p2panda-net's GOSSIP_TOPIC_MIX_VALUE (sync/actors/manager.rs): mixed into a topic to name the
// overlay its sync sessions sample peers from, so that it differs from the ephemeral overlay.
constexpr std::array<std::uint8_t, 32> kSyncTopicMix = {
    253, 6,  251, 217, 173, 228, 215, 244, 130, 181, 150, 142, 220, 244, 49, 219,
    35,  94, 163, 197, 229, 93,  143, 227, 97,  61,  38,  202, 63,  250, 26, 233};

// The gossip ALPN of each mode. V101: iroh_gossip::ALPN ("/iroh-gossip/1"), mixed with the
// network id as p2panda-net 0.7's gossip manager does (gossip/actors/manager.rs). V035: iroh-gossip
// 0.35's plain ALPN, as a 0.35 node (the npm @number0/iroh 0.35 one) offers it, unmixed.
Bytes gossip_alpn(gossip::Mode mode, const NetworkId& network) {
  if (mode == gossip::Mode::V035) {
    return Bytes(gossip::kAlpnV035.begin(), gossip::kAlpnV035.end());
  }
  return protocol_alpn(gossip::kAlpnV101, network);
}

std::uint64_t random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) | device();
}

template <class F>
void prune_and_each(std::vector<std::weak_ptr<F>>& inboxes, const auto& visit) {
  std::erase_if(inboxes, [](const auto& weak) { return weak.expired(); });
  for (auto& weak : inboxes) {
    if (auto inbox = weak.lock()) visit(*inbox);
  }
}

}  // namespace

Topic sync_overlay_topic(const Topic& topic) {
  const Hash hash = Hasher().update(topic.bytes()).update(kSyncTopicMix).finalize();
  return *Topic::from_bytes(hash.bytes());
}

NodeGossip::NodeGossip(net::Transport& transport, const PrivateKey& key, const NetworkId& network,
                       node::SyncManager& sync, gossip::Mode mode)
    : key_(key),
      sync_(sync),
      driver_(transport, gossip_alpn(mode, network), mode, gossip::TopicConfig{},
              random_seed(),
              node::GossipCallbacks{
                  .neighbor = [this](const Topic& topic, const NodeId& peer,
                                     bool up) { on_neighbor(topic, peer, up); },
                  .received = [this](const Topic& topic, const Bytes& content,
                                     const NodeId&) { on_received(topic, content); },
                  .learned =
                      [this](const net::PeerAddress& peer) {
                        const bool fresh = !peers_.contains(peer.node_id);
                        peers_[peer.node_id] = peer;
                        if (fresh) emit(PeerDiscovered{peer.node_id, PeerDiscovered::Via::Gossip});
                      },
              }) {}

void NodeGossip::start() { driver_.start(); }

std::vector<NodeId> NodeGossip::known_peers() const {
  std::vector<NodeId> out;
  for (const auto& [id, peer] : peers_) out.push_back(id);
  return out;
}

void NodeGossip::follow(const Topic& topic) {
  const Topic overlay = sync_overlay_topic(topic);
  if (sync_topics_.contains(overlay)) return;
  sync_topics_[overlay] = topic;
  driver_.join(overlay, known_peers());
}

void NodeGossip::unfollow(const Topic& topic) {
  const Topic overlay = sync_overlay_topic(topic);
  if (!sync_topics_.contains(overlay)) return;
  driver_.leave(overlay);  // reports NeighborDown for each neighbour while still mapped
  sync_topics_.erase(overlay);
}

void NodeGossip::add_peer(const net::PeerAddress& peer, PeerDiscovered::Via via) {
  const bool fresh = !peers_.contains(peer.node_id);
  auto& known = peers_[peer.node_id];
  known.node_id = peer.node_id;
  for (const auto& address : peer.addresses) {
    if (std::find(known.addresses.begin(), known.addresses.end(), address) ==
        known.addresses.end()) {
      known.addresses.push_back(address);
    }
  }
  if (fresh) emit(PeerDiscovered{peer.node_id, via});
  driver_.add_peer(known);
}

void NodeGossip::on_neighbor(const Topic& gossip_topic, const NodeId& peer, bool up) {
  auto sync_topic = sync_topics_.find(gossip_topic);
  const bool ephemeral = sync_topic == sync_topics_.end();
  const Topic topic = ephemeral ? gossip_topic : sync_topic->second;
  if (up) {
    emit(NeighborUp{topic, peer, ephemeral});
  } else {
    emit(NeighborDown{topic, peer, ephemeral});
  }
  // A neighbour in one overlay of a topic is interested in the topic: offer it to the other
  // overlay too (the role p2panda's address book plays, which records the topics of each node).
  if (up) {
    const Topic other = ephemeral ? sync_overlay_topic(topic) : topic;
    if (!ephemeral || sync_topics_.contains(other)) driver_.offer(other, peer);
  }
  if (ephemeral) return;
  // A neighbour of the sync overlay is a sync peer of the topic while it stays one (p2panda's
  // InitiateSync / EndSync on NeighbourUp / NeighbourDown).
  if (up) {
    auto known = peers_.find(peer);
    sync_.add_topic_peer(topic, known != peers_.end() ? known->second : net::PeerAddress{peer, {}});
  } else {
    sync_.remove_topic_peer(topic, peer);
  }
}

void NodeGossip::on_received(const Topic& gossip_topic, const Bytes& content) {
  auto subscribers = ephemeral_.find(gossip_topic);
  if (subscribers == ephemeral_.end()) return;  // the sync overlay carries no messages
  counters_.received.fetch_add(1);
  auto message = EphemeralMessage::decode(content);
  if (!message || !message->verify()) {
    counters_.rejected.fetch_add(1);
    return;
  }
  prune_and_each(subscribers->second, [&](EphemeralInbox& inbox) { inbox.mailbox.push(*message); });
}

std::shared_ptr<EphemeralInbox> NodeGossip::subscribe_ephemeral(const Topic& topic) {
  auto inbox = std::make_shared<EphemeralInbox>();
  ephemeral_[topic].push_back(inbox);
  ++ephemeral_held_[topic];
  driver_.join(topic, known_peers());
  return inbox;
}

bool NodeGossip::release_ephemeral(const Topic& topic) {
  auto held = ephemeral_held_.find(topic);
  if (held == ephemeral_held_.end() || --held->second > 0) return false;
  ephemeral_held_.erase(held);
  driver_.leave(topic);  // its neighbours see NeighborDown, as we do
  ephemeral_.erase(topic);
  return true;
}

Result<void> NodeGossip::publish_ephemeral(const Topic& topic, ByteSpan body) {
  if (!driver_.joined(topic)) {
    ephemeral_[topic];
    driver_.join(topic, known_peers());
  }
  // Hybrid clock: a publish within the same microsecond as the last one counts up, so that two
  // equal bodies still differ and PlumTree does not take the second for a duplicate.
  const std::uint64_t now = Timestamp::now().value();
  if (now > last_micros_) {
    last_micros_ = now;
    lamport_ = 0;
  } else {
    ++lamport_;
  }
  auto message = EphemeralMessage::create(key_, Timestamp(last_micros_), lamport_, body);
  if (!message) return Unexpected{std::move(message).error()};
  auto sent = driver_.broadcast(topic, message->encode());
  if (!sent) return sent;
  counters_.published.fetch_add(1);
  return {};
}

std::shared_ptr<EventInbox> NodeGossip::subscribe_events() {
  auto inbox = std::make_shared<EventInbox>();
  events_.push_back(inbox);
  return inbox;
}

void NodeGossip::emit(const SystemEvent& event) {
  prune_and_each(events_, [&](EventInbox& inbox) { inbox.mailbox.push(event); });
}

std::set<Topic> NodeGossip::joined_topics() const {
  std::set<Topic> out;
  for (const auto& [overlay, topic] : sync_topics_) out.insert(overlay);
  for (const auto& [topic, inboxes] : ephemeral_) out.insert(topic);
  return out;
}

std::vector<NodeId> NodeGossip::sync_neighbors(const Topic& topic) const {
  return driver_.neighbors(sync_overlay_topic(topic));
}

void NodeGossip::shutdown() {
  driver_.shutdown();
  for (auto& [topic, inboxes] : ephemeral_) {
    prune_and_each(inboxes, [](EphemeralInbox& inbox) { inbox.mailbox.close(); });
  }
  prune_and_each(events_, [](EventInbox& inbox) { inbox.mailbox.close(); });
}

}  // namespace p2panda::detail

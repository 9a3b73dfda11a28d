#include "sim_harness.hpp"

#include <algorithm>
#include <functional>

namespace p2panda::gossip::testing {

GossipSwarm::GossipSwarm(std::uint64_t seed, sim::LinkConfig link, TopicConfig config)
    : network_(seed, link), config_(config), link_rng_(seed ^ 0x5eed) {
  std::array<std::uint8_t, 32> topic{};
  topic.fill(0x70);
  topic_ = Topic(topic);
}

std::size_t GossipSwarm::add_node(Micros min_delay, Micros max_delay) {
  const std::size_t index = nodes_.size();
  auto node = std::make_unique<Node>();
  std::array<std::uint8_t, 32> id{};
  id[0] = static_cast<std::uint8_t>(index >> 8);
  id[1] = static_cast<std::uint8_t>(index);
  id[31] = 0x01;
  node->id = PeerId(id);
  const Bytes data{static_cast<std::uint8_t>(index)};  // stands in for an AddrInfo
  node->core = std::make_unique<TopicState>(node->id, data, config_, 1000 + index);
  by_id_[node->id] = index;
  nodes_.push_back(std::move(node));
  const sim::NodeIndex sim_index = network_.add_node(sim::NodeHandler{
      .on_accept = [this, index](sim::ConnectionId c, sim::NodeIndex r) { on_accept(index, c, r); },
      .on_message = [this, index](sim::ConnectionId c, Bytes b) { on_message(index, c, std::move(b)); },
      .on_closed = [this, index](sim::ConnectionId c, Result<void>) { on_closed(index, c); },
  });
  network_.set_identity(sim_index, nodes_[index]->id);
  if (max_delay > 0) {
    std::uniform_int_distribution<Micros> delay(min_delay, max_delay);
    for (std::size_t other = 0; other < index; ++other) {
      auto config = sim::LinkConfig{.delay = delay(link_rng_)};
      network_.set_link(static_cast<sim::NodeIndex>(other), sim_index, config);
    }
  }
  return index;
}

void GossipSwarm::join(std::size_t node, const std::vector<std::size_t>& bootstrap) {
  std::vector<PeerId> peers;
  for (auto index : bootstrap) peers.push_back(nodes_[index]->id);
  apply(node, nodes_[node]->core->join(peers, network_.now()));
}

Result<MessageId> GossipSwarm::broadcast(std::size_t node, Bytes content) {
  const MessageId id = MessageId::from_content(content);
  auto outputs = nodes_[node]->core->broadcast(std::move(content), Scope::Swarm, network_.now());
  if (!outputs) return Unexpected{outputs.error()};
  sent_at_[id] = network_.now();
  apply(node, std::move(*outputs));
  return id;
}

void GossipSwarm::quit(std::size_t node) { apply(node, nodes_[node]->core->quit(network_.now())); }

void GossipSwarm::apply(std::size_t node, std::vector<Output> outputs) {
  Node& state = *nodes_[node];
  for (auto& output : outputs) {
    if (auto* send_message = std::get_if<SendMessage>(&output)) {
      send(node, send_message->to, send_message->message);
    } else if (auto* disconnect_peer = std::get_if<DisconnectPeer>(&output)) {
      disconnect(node, disconnect_peer->peer);
    } else if (auto* up = std::get_if<NeighborUp>(&output)) {
      ++neighbor_events_;
      if (!state.neighbors.insert(up->peer).second) ++event_errors_;
    } else if (auto* down = std::get_if<NeighborDown>(&output)) {
      ++neighbor_events_;
      if (state.neighbors.erase(down->peer) == 0) ++event_errors_;
    } else if (auto* received = std::get_if<Received>(&output)) {
      const MessageId id = MessageId::from_content(received->content);
      ++delivered_[{node, id}];
      deliveries_.push_back({node, id, network_.now(), received->delivered_from});
    }
  }
  arm(node);
}

void GossipSwarm::send(std::size_t node, const PeerId& to, const Message& message) {
  Node& state = *nodes_[node];
  auto& open = state.connections[to];
  if (open.empty()) {
    auto connection = network_.connect(static_cast<sim::NodeIndex>(node),
                                       static_cast<sim::NodeIndex>(by_id_.at(to)));
    if (!connection) {
      state.connections.erase(to);
      // A failed dial reaches the core like a lost connection, asynchronously.
      network_.schedule_after(100'000, [this, node, to] {
        if (nodes_[node]->connections.contains(to)) return;
        apply(node, nodes_[node]->core->peer_disconnected(to, network_.now()));
      });
      return;
    }
    open.push_back(*connection);
    state.remote_of[*connection] = to;
    state.readers.emplace(*connection, StreamReaderV101(config_.max_message_size));
  }
  const sim::ConnectionId connection = open.back();
  Bytes bytes;
  if (state.header_sent.insert(connection).second) bytes = encode_stream_header(topic_);
  auto frame = encode_frame_v101(message, config_.max_message_size);
  if (!frame) return;  // a core never produces one; the message tests cover the limit
  bytes.insert(bytes.end(), frame->begin(), frame->end());
  network_.send(connection, static_cast<sim::NodeIndex>(node), std::move(bytes));
}

void GossipSwarm::disconnect(std::size_t node, const PeerId& peer) {
  Node& state = *nodes_[node];
  auto found = state.connections.find(peer);
  if (found == state.connections.end()) return;
  const auto open = found->second;
  state.connections.erase(found);
  for (auto connection : open) {
    network_.close(connection, static_cast<sim::NodeIndex>(node));
    forget(state, connection);
  }
}

void GossipSwarm::forget(Node& state, sim::ConnectionId connection) {
  state.remote_of.erase(connection);
  state.readers.erase(connection);
  state.header_sent.erase(connection);
}

void GossipSwarm::on_accept(std::size_t node, sim::ConnectionId connection, sim::NodeIndex remote) {
  Node& state = *nodes_[node];
  const PeerId peer = network_.identity(remote);
  auto& open = state.connections[peer];
  // Keep sending on an existing connection; read from every one.
  open.insert(open.begin(), connection);
  state.remote_of[connection] = peer;
  state.readers.emplace(connection, StreamReaderV101(config_.max_message_size));
}

void GossipSwarm::on_message(std::size_t node, sim::ConnectionId connection, Bytes bytes) {
  Node& state = *nodes_[node];
  auto reader = state.readers.find(connection);
  if (reader == state.readers.end()) return;  // we closed it; late data is dropped
  const PeerId peer = state.remote_of.at(connection);
  reader->second.push(bytes);
  while (true) {
    auto next = reader->second.next();
    if (!next || !*next) return;
    if (reader->second.topic() != topic_) return;
    apply(node, state.core->handle_message(peer, **next, network_.now()));
    if (!nodes_[node]->readers.contains(connection)) return;
    reader = nodes_[node]->readers.find(connection);
  }
}

void GossipSwarm::on_closed(std::size_t node, sim::ConnectionId connection) {
  Node& state = *nodes_[node];
  auto remote = state.remote_of.find(connection);
  if (remote == state.remote_of.end()) return;
  const PeerId peer = remote->second;
  forget(state, connection);
  auto& open = state.connections[peer];
  open.erase(std::remove(open.begin(), open.end(), connection), open.end());
  if (!open.empty()) return;
  state.connections.erase(peer);
  apply(node, state.core->peer_disconnected(peer, network_.now()));
}

void GossipSwarm::arm(std::size_t node) {
  Node& state = *nodes_[node];
  auto deadline = state.core->next_deadline();
  if (!deadline || (state.armed && *state.armed <= *deadline)) return;
  const Micros at = std::max(*deadline, network_.now());
  state.armed = at;
  network_.schedule(at, [this, node, at] {
    Node& current = *nodes_[node];
    if (current.armed != at) return;
    current.armed.reset();
    apply(node, current.core->handle_timeout(network_.now()));
  });
}

bool GossipSwarm::overlay_connected() const {
  if (nodes_.empty()) return true;
  std::vector<std::set<std::size_t>> edges(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    for (const auto& peer : nodes_[i]->core->active_view()) {
      edges[i].insert(by_id_.at(peer));
      edges[by_id_.at(peer)].insert(i);
    }
  }
  std::vector<bool> seen(nodes_.size());
  std::vector<std::size_t> todo{0};
  seen[0] = true;
  while (!todo.empty()) {
    const auto at = todo.back();
    todo.pop_back();
    for (auto next : edges[at]) {
      if (!seen[next]) {
        seen[next] = true;
        todo.push_back(next);
      }
    }
  }
  return std::all_of(seen.begin(), seen.end(), [](bool s) { return s; });
}

std::size_t GossipSwarm::delivered_count(std::size_t node, const MessageId& id) const {
  auto found = delivered_.find({node, id});
  return found == delivered_.end() ? 0 : found->second;
}

std::size_t GossipSwarm::receivers(const MessageId& id) const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < nodes_.size(); ++i) count += delivered_count(i, id) > 0 ? 1 : 0;
  return count;
}

std::set<PeerId> GossipSwarm::connected_peers(std::size_t node) const {
  std::set<PeerId> peers;
  for (const auto& [peer, open] : nodes_[node]->connections) {
    if (!open.empty()) peers.insert(peer);
  }
  return peers;
}

}  // namespace p2panda::gossip::testing

#include "gossip/topic_state.hpp"

#include <cstdlib>

namespace p2panda::gossip {
namespace {

// iroh-gossip sizes the broadcast layer's payload budget as max_message_size minus the
// ProtoMessage header (topic 32 bytes + the topic::Message index), so both framings fit.
constexpr std::size_t kProtoHeaderSize = 33;

std::size_t varint_size(std::size_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

// A Gossip body with `content_size` bytes of content at the largest round (3-byte varint).
std::size_t gossip_body_size(std::size_t content_size) {
  return 2 + MessageId::kSize + varint_size(content_size) + content_size + 1 + 3;
}

}  // namespace

TopicState::TopicState(PeerId me, std::optional<PeerData> me_data, TopicConfig config,
                       std::uint64_t seed)
    : me_(me),
      config_(config),
      rng_(seed),
      membership_(me, std::move(me_data), config.membership, rng_),
      broadcast_(me, config.broadcast, config.max_message_size - kProtoHeaderSize) {
  if (config.max_message_size < kMinMaxMessageSize) std::abort();
}

std::vector<Output> TopicState::join(std::span<const PeerId> peers, Micros now) {
  Io io;
  membership_.join(std::vector<PeerId>(peers.begin(), peers.end()), io);
  return finish(io, now);
}

std::vector<Output> TopicState::handle_message(const PeerId& from, const Message& message,
                                               Micros now) {
  Io io;
  if (message.index() < std::variant_size_v<Message> - 4) {
    membership_.handle_message(from, message, io);
  } else {
    broadcast_.handle_message(from, message, now, io);
    // PlumTree takes the sender of a Prune, a duplicate, a Graft or an announcement as a
    // neighbour. One outside the active view (dropped, its messages still in flight) must not
    // become one: its gossip counts, but the eager and lazy sets follow the active view, and
    // nothing it announced is grafted from it.
    if (!membership_.is_active(from)) broadcast_.neighbor_down(from, now, io);
  }
  return finish(io, now);
}

std::vector<Output> TopicState::peer_disconnected(const PeerId& peer, Micros now) {
  Io io;
  membership_.peer_disconnected(peer, io);
  broadcast_.neighbor_down(peer, now, io);
  return finish(io, now);
}

std::size_t TopicState::max_content_size() const {
  const std::size_t budget = config_.max_message_size - kProtoHeaderSize;
  std::size_t size = budget;
  while (size > 0 && gossip_body_size(size) >= budget) --size;
  return size;
}

Result<std::vector<Output>> TopicState::broadcast(Bytes content, Scope scope, Micros now) {
  if (content.size() > max_content_size()) {
    return fail(Errc::FrameTooLarge, "gossip broadcast of " + std::to_string(content.size()) +
                                         " bytes exceeds the maximum of " +
                                         std::to_string(max_content_size()));
  }
  Io io;
  broadcast_.broadcast(std::move(content), scope, now, io);
  return finish(io, now);
}

std::vector<Output> TopicState::handle_timeout(Micros now) {
  Io io;
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const Timer timer = timers_.begin()->second;
    timers_.erase(timers_.begin());
    Io step;
    if (std::holds_alternative<DoShuffle>(timer) ||
        std::holds_alternative<PendingNeighborRequest>(timer) ||
        std::holds_alternative<RetryJoin>(timer)) {
      membership_.on_timer(timer, step);
    } else {
      broadcast_.on_timer(timer, now, step);
    }
    auto outputs = finish(step, now);
    io.outputs.insert(io.outputs.end(), std::make_move_iterator(outputs.begin()),
                      std::make_move_iterator(outputs.end()));
  }
  return std::move(io.outputs);
}

std::vector<Output> TopicState::quit(Micros now) {
  Io io;
  membership_.quit(io);
  return finish(io, now);
}

std::optional<Micros> TopicState::next_deadline() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first;
}

std::vector<Output> TopicState::finish(Io& io, Micros now) {
  // Membership changes steer the broadcast tree: new neighbours start eager, lost ones vanish.
  Io follow_up;
  for (const auto& output : io.outputs) {
    if (const auto* up = std::get_if<NeighborUp>(&output)) {
      broadcast_.neighbor_up(up->peer, now, follow_up);
    } else if (const auto* down = std::get_if<NeighborDown>(&output)) {
      broadcast_.neighbor_down(down->peer, now, follow_up);
    }
  }
  for (auto& output : follow_up.outputs) io.outputs.push_back(std::move(output));
  for (auto& timer : follow_up.timers) io.timers.push_back(std::move(timer));
  for (auto& [delay, timer] : io.timers) timers_.emplace(now + delay, std::move(timer));
  return std::move(io.outputs);
}

}  // namespace p2panda::gossip

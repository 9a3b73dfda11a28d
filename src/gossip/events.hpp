// What the gossip cores ask their driver to do (Output), the timers they set (Timer), and the
// per-call collector both cores write into (Io). A driver turns SendMessage into a frame on the
// peer's stream (dialing the peer first if there is no connection), DisconnectPeer into closing
// that peer's stream for the topic, and hands the events to the application. Plain values: any
// thread; an Io belongs to one call.
#pragma once

#include <cstdint>
#include <utility>
#include <variant>
#include <vector>

#include "gossip/messages.hpp"

namespace p2panda::gossip {

using Micros = std::uint64_t;  // microseconds on the caller's monotonic clock

struct SendMessage {
  PeerId to;
  Message message;
};
struct DisconnectPeer {
  PeerId peer;
};
struct NeighborUp {
  PeerId peer;
};
struct NeighborDown {
  PeerId peer;
};
// A broadcast delivered for the first time (Swarm scope) or a direct neighbour message.
struct Received {
  Bytes content;
  PeerId delivered_from;
  DeliveryScope scope;
};
// New address information learnt about a peer (the driver feeds its address book).
struct PeerDataLearned {
  PeerId peer;
  PeerData data;
};
using Output =
    std::variant<SendMessage, DisconnectPeer, NeighborUp, NeighborDown, Received, PeerDataLearned>;

// ---- timers ----
struct DoShuffle {
  friend bool operator==(const DoShuffle&, const DoShuffle&) = default;
};
struct PendingNeighborRequest {
  PeerId peer;
  friend bool operator==(const PendingNeighborRequest&, const PendingNeighborRequest&) = default;
};
struct RetryJoin {
  friend bool operator==(const RetryJoin&, const RetryJoin&) = default;
};
struct SendGraft {
  MessageId id;
  friend bool operator==(const SendGraft&, const SendGraft&) = default;
};
struct DispatchLazyPush {
  friend bool operator==(const DispatchLazyPush&, const DispatchLazyPush&) = default;
};
struct EvictCache {
  friend bool operator==(const EvictCache&, const EvictCache&) = default;
};
using Timer =
    std::variant<DoShuffle, PendingNeighborRequest, RetryJoin, SendGraft, DispatchLazyPush,
                 EvictCache>;

struct Io {
  std::vector<Output> outputs;
  std::vector<std::pair<Micros, Timer>> timers;  // (delay from now, timer)

  void send(const PeerId& to, Message message) {
    outputs.push_back(SendMessage{to, std::move(message)});
  }
  void emit(Output output) { outputs.push_back(std::move(output)); }
  void schedule(Micros delay, Timer timer) { timers.emplace_back(delay, std::move(timer)); }
};

}  // namespace p2panda::gossip

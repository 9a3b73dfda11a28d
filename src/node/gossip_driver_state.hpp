// The driver's per-stream and per-topic state, shared by gossip_driver.cpp (the 0.101 layout and
// everything common) and gossip_driver_v035.cpp (the 0.35 layout). Internal to GossipDriver.
#pragma once

#include <deque>
#include <set>

#include "node/gossip_driver.hpp"

namespace p2panda::node {

// Application codes for aborted streams (they only show up in the peer's logs).
inline constexpr std::uint64_t kNotJoined = 1;
inline constexpr std::uint64_t kBadStream = 2;

// Our stream to one peer: for one topic (0.101), or for all topics (0.35). Frames wait here while
// the stream is being opened and while the peer's flow control holds the writer back.
struct GossipDriver::Outbox {
  std::deque<Bytes> frames;
  Signal wake;
  bool closed = false;  // DisconnectPeer: flush what is queued, then finish
  net::StreamHandle stream;
  // 0.35 only: the connection the shared stream is on, and the topics that still use it.
  net::ConnectionHandle connection;
  std::set<Topic> topics;
};

struct GossipDriver::TopicEntry {
  std::unique_ptr<gossip::TopicState> state;
  std::map<NodeId, std::shared_ptr<Outbox>> out;
  Signal wake;  // the deadline may have moved
  bool left = false;  // leave() took the topic out: its timer loop ends
};

}  // namespace p2panda::node

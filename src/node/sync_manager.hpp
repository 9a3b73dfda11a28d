// SyncManager: the node's log sync sessions over its Transport, one per (peer, topic).
//
// For every followed topic and every known peer it opens a session: a bidirectional stream on
// the log sync ALPN (BLAKE3("p2panda/log_sync/v1" || network id), connections shared between
// topics where the transport reuses them), p2panda 0.7's topic handshake, then a LogSyncSession
// that syncs and stays live. Frames are 4-byte big-endian lengths around postcard messages.
// Operations received are handed to the engine, which validates and ingests them; only those it
// stored are forwarded to the topic's other sessions. Missing sessions are retried every
// sync_retry, slots that keep failing less often (dial_backoff.hpp). Besides these peers for every topic, gossip neighbours are peers of their topic
// while they stay neighbours. When both peers dial each other at once, the session started by the lower node
// id survives on both sides. Node thread only.
#pragma once

#include <map>
#include <memory>
#include <set>

#include "net/transport.hpp"
#include "node/dial_backoff.hpp"
#include "node/signal.hpp"
#include "sync/log_sync.hpp"
#include "sync/topic_metrics.hpp"

namespace p2panda::detail {
class NodeEngine;
}

namespace p2panda::node {

class SyncManager {
 public:
  explicit SyncManager(detail::NodeEngine& engine);
  ~SyncManager();

  void start();  // registers the protocol and starts the retry loop
  void follow(const Topic& topic);
  // Stops following `topic`: its sessions end (gracefully where they run), none is dialled, and
  // peers' handshakes for it are refused as for any topic we do not follow.
  void unfollow(const Topic& topic);
  void add_peer(net::PeerAddress peer);
  // A peer to sync `topic` with while it is a gossip neighbour there (gossip_node.hpp). Removing
  // it ends its session for the topic unless it is also a peer for every topic (add_peer).
  void add_topic_peer(const Topic& topic, net::PeerAddress peer);
  void remove_topic_peer(const Topic& topic, const NodeId& peer);
  struct Session;
  // Offers a stored operation to the topic's live sessions, except `from` (where it came from).
  void publish(const Topic& topic, const Operation& operation, const Session* from);
  void close_topic(const Topic& topic);
  void shutdown();

 private:
  using Key = std::pair<NodeId, Topic>;

  net::Awaitable<void> initiate(NodeId remote, Topic topic);
  net::Awaitable<void> serve(net::ConnectionHandle connection);
  net::Awaitable<void> accept(net::ConnectionHandle connection, net::StreamHandle stream);
  // Claims the (remote, topic) slot for an incoming session; false when ours wins the tie.
  bool claim_incoming(const std::shared_ptr<Session>& session);
  net::Awaitable<void> run(std::shared_ptr<Session> session);
  net::Awaitable<void> read_loop(std::shared_ptr<Session> session);
  net::Awaitable<void> watch(std::shared_ptr<Session> session);
  void drain_events(const std::shared_ptr<Session>& session);
  void end(Session& session, std::optional<Error> error);
  // Ends a session so that the peer sees a graceful end (unfollowed topic, gossip neighbour gone).
  void drop(std::shared_ptr<Session> session);  // by value: end() erases the map's reference
  net::Awaitable<void> retry_loop();
  void connect_missing();
  void watchdog(std::shared_ptr<Session> session);

  detail::NodeEngine& engine_;
  Bytes alpn_;
  std::map<NodeId, net::PeerAddress> peers_;
  std::map<Topic, std::map<NodeId, net::PeerAddress>> topic_peers_;
  std::set<Topic> topics_;
  std::map<Key, std::shared_ptr<Session>> sessions_;
  std::map<Topic, sync::TopicSyncMetrics> metrics_;
  DialBackoff backoff_;
  std::uint64_t next_session_ = 1;
  bool stopped_ = false;
  Signal retry_;
};

}  // namespace p2panda::node

// TopicDiscovery: confidential topic discovery (discovery/psi.hpp) over the node's Transport, on
// ALPN BLAKE3("p2panda/confidential_discovery/v1" || network id). kDefaultWalkerCount random
// walkers (discovery/walker.hpp) pick nodes of the address book, bootstrap nodes first; for each
// step the driver dials the node and runs one session as Alice on one bi-directional stream
// (4-byte big-endian length frames), within a timeout. Incoming sessions are answered as Bob.
//
// Our topics are the gossip topic ids the node joined (NodeGossip::joined_topics). Each side
// shares its own signed transport info plus those of the nodes the address book records for a
// topic in common, never the whole book (p2panda shares it all). Received infos are verified
// (refused and counted when not), go into the address book (last write wins), the common topics
// are recorded for the remote, and new nodes reached through a common topic go to the engine
// (add_peer, Via::Discovery) so that gossip and sync meet them. docs/discovery.md, "The driver".
// Node thread only; counters are atomics.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "discovery/psi.hpp"
#include "discovery/walker.hpp"
#include "node/address_book.hpp"
#include "node/discovery_manager.hpp"
#include "node/signal.hpp"

namespace p2panda::detail {
class NodeEngine;
}

namespace p2panda::node {

struct TopicDiscoveryConfig {
  // A whole session, from dialling to the remote's close; a silent peer is dropped after it.
  std::chrono::milliseconds session_timeout{5'000};
  // How often the walkers compare our topics with the last seen (besides topics_changed()).
  std::chrono::milliseconds topics_poll{1'000};
  std::size_t max_incoming = 16;        // Bob sessions at once; more are refused
  std::size_t max_frame = 1024 * 1024;  // bytes of one frame's payload
  discovery::MessageLimits limits;
  discovery::WalkerConfig walker;
};

class TopicDiscovery {
 public:
  TopicDiscovery(detail::NodeEngine& engine, DiscoveryCounters& counters,
                 TopicDiscoveryConfig config = {});
  ~TopicDiscovery();

  // Registers the ALPN and starts the walkers; `own` is our signed transport info.
  void start(discovery::TransportInfo own);
  // Our transport info was signed anew (our addresses changed): sessions share this one now.
  void update_own(discovery::TransportInfo own) { own_ = std::move(own); }
  // Our topics may have changed (a stream was opened): walkers reset if they did.
  void topics_changed();
  // Stops the walkers and ends sessions in flight. REQUIRES: node thread.
  void shutdown();

  struct Session;

 private:
  struct Absorbed {
    std::vector<NodeId> learned;  // nodes whose info verified
    std::size_t fresh = 0;        // of those, infos new or newer than ours
  };

  net::Awaitable<void> walk(std::size_t index);
  // One session as Alice with `remote`; nullopt when it failed.
  net::Awaitable<std::optional<Absorbed>> visit(NodeId remote);
  net::Awaitable<std::optional<discovery::PsiResult>> run_alice(std::shared_ptr<Session> session,
                                                                net::PeerAddress peer);
  net::Awaitable<void> serve(net::ConnectionHandle connection);
  std::vector<discovery::KnownNode> snapshot();
  std::optional<net::PeerAddress> address_of(const NodeId& node);
  discovery::ShareFn share_with(const NodeId& remote);
  Absorbed absorb(const NodeId& remote, const discovery::PsiResult& result);
  bool check_topics();

  detail::NodeEngine& engine_;
  DiscoveryCounters& counters_;
  TopicDiscoveryConfig config_;
  AddressBook book_;
  Bytes alpn_;
  std::optional<discovery::TransportInfo> own_;  // start(), then update_own()
  std::set<Topic> topics_;
  std::vector<std::unique_ptr<discovery::RandomWalker>> walkers_;
  std::set<std::shared_ptr<Session>> sessions_;  // in flight, both roles
  std::set<NodeId> handed_;                      // given to the engine (add_peer) already
  std::size_t incoming_ = 0;
  bool stopped_ = false;
  Signal wake_;
};

}  // namespace p2panda::node

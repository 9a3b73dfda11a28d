// DiscoveryManager: how the node finds peers. At start it puts the configured bootstrap nodes
// into the address book and hands them to sync first, then the nodes the book remembers from
// earlier runs (not stale), then runs mDNS (Active: queries and responds; Passive: only
// announces and responds; Disabled: nothing) on the configured interfaces, loopback only unless
// told otherwise. A node announced over mDNS with a valid signed transport info goes into the
// address book and to SyncManager::add_peer. Dialling is never serialised: an unreachable
// bootstrap node does not hold up anyone else (upstream p2panda #1186). docs/discovery.md.
// Node thread only; the counters are atomics readable from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "discovery/mdns.hpp"
#include "discovery/mdns_pacer.hpp"
#include "net/address_watch.hpp"
#include "net/mdns_socket.hpp"
#include "node/address_book.hpp"

namespace p2panda::detail {
class NodeEngine;
}

namespace p2panda::node {

struct DiscoveryCounters {
  std::atomic<std::uint64_t> peers_found{0};  // distinct nodes first learnt from mDNS
  std::atomic<std::uint64_t> mdns_bytes_sent{0};
  std::atomic<std::uint64_t> mdns_bytes_received{0};
  std::atomic<std::uint64_t> mdns_refused{0};  // announcements without a valid signature
  std::atomic<bool> mdns_running{false};
  // Confidential topic discovery (topic_discovery.hpp).
  std::atomic<std::uint64_t> topic_sessions{0};
  std::atomic<std::uint64_t> topic_sessions_failed{0};
  std::atomic<std::uint64_t> infos_learnt{0};
  std::atomic<std::uint64_t> infos_refused{0};
  std::atomic<std::uint64_t> address_changes{0};  // new own transport infos signed after start
  std::atomic<std::uint64_t> mdns_rejoins{0};  // refreshes that joined a re-created interface
};

class DiscoveryManager {
 public:
  DiscoveryManager(detail::NodeEngine& engine, DiscoveryCounters& counters);
  ~DiscoveryManager();

  // Errors: InvalidArgument / Io when the mDNS socket cannot be opened; the node then runs
  // without mDNS (DiscoveryMetrics::mdns_running stays false).
  Result<void> start();
  // A bootstrap node added at run time (Node::insert_bootstrap): into the book, then to sync.
  void insert_bootstrap(const net::PeerAddress& peer);
  void record_connection(const PublicKey& node, bool success);
  // Our transport info, signed at start() (before mDNS starts, whatever the mDNS mode): what
  // mDNS announces and topic discovery shares. Nullopt before start().
  const std::optional<discovery::TransportInfo>& own_info() const { return own_info_; }
  // Re-reads the interfaces' addresses; when they changed, signs a new transport info (a newer
  // timestamp, so it replaces the old one wherever it lands), announces it over mDNS at once and
  // hands it to topic discovery and gossip (NodeEngine::own_info_changed). Runs on its own when
  // bound to a wildcard address (net::AddressWatch); harmless when nothing changed.
  void refresh_addresses();
  // The interfaces changed (net::AddressWatch): mDNS joins its interfaces that were created anew
  // and announces itself there, then refresh_addresses().
  void interfaces_changed();
  // Closes the socket and stops the timer. REQUIRES: node thread, before the executor dies.
  void shutdown();

 private:
  void on_datagram(ByteSpan datagram);
  void pump();
  void arm();
  std::vector<discovery::IpPort> own_addresses() const;
  Result<void> build_response();

  detail::NodeEngine& engine_;
  DiscoveryCounters& counters_;
  AddressBook book_;
  std::unique_ptr<net::MdnsSocket> socket_;
  std::unique_ptr<asio::steady_timer> timer_;
  std::optional<discovery::mdns::MdnsPacer> pacer_;
  Bytes query_;
  Bytes response_;
  std::optional<discovery::TransportInfo> own_info_;
  std::set<PublicKey> found_;
  std::map<PublicKey, discovery::mdns::Announcement> last_seen_;  // verified, per node
  // Only when bound to a wildcard address, or when mDNS runs on interfaces other than `lo`.
  std::unique_ptr<net::AddressWatch> watch_;
  void watch_interfaces();
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace p2panda::node

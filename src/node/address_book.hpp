// AddressBook: the node's persistent book of other nodes (the store's `nodes` table), holding
// for each its transport info, whether it is a bootstrap node, its topics and connection
// outcomes. Rules (docs/discovery.md, "Address book"):
// - a signed transport info replaces the held one only when its hybrid timestamp is newer (last
//   write wins); an info whose signature does not verify is refused;
// - bootstrap nodes come from the configuration: trusted, unsigned (a zero signature), and never
//   stale or pruned; the flag sticks when the node later announces itself;
// - a node is stale when its last connection attempt failed (p2panda's NodeMetrics rule).
// Calls block on the store (short transactions); node thread only.
#pragma once

#include <map>
#include <set>
#include <span>
#include <vector>

#include "discovery/transport_info.hpp"
#include "net/transport.hpp"
#include "store/store.hpp"

namespace p2panda::node {

discovery::IpPort to_ip_port(const net::SocketAddress& address);
net::SocketAddress to_socket_address(const discovery::IpPort& address);

// Stale: the last connection attempt failed. Bootstrap nodes are never stale.
bool is_stale(const store::NodeRecord& record);

class AddressBook {
 public:
  explicit AddressBook(store::Store& store) : store_(store) {}

  // A configured bootstrap node. Keeps a newer signed info the book may already hold.
  // Errors: Store*.
  Result<void> insert_bootstrap(const net::PeerAddress& peer, Timestamp now);
  // Applies last-write-wins; returns what happened (Accept: stored). Errors: Store*.
  Result<discovery::InfoUpdate> update(const PublicKey& node, const discovery::TransportInfo& info,
                                       Timestamp now);
  Result<void> record_connection(const PublicKey& node, bool success, Timestamp at);
  // The transport info held for `node`. Errors: Store*, the storage form's decode errors.
  Result<std::optional<discovery::TransportInfo>> info(const PublicKey& node);
  // Every node that is not stale, bootstrap nodes first, as addresses to dial.
  Result<std::vector<net::PeerAddress>> dialable();
  // Overwrites the topics recorded for `node` (what a discovery session found in common). No-op
  // when the book does not hold the node. Errors: Store*.
  Result<void> set_topics(const PublicKey& node, std::span<const Topic> topics);
  // The signed infos (never trusted bootstrap ones) of nodes that are not stale and are recorded
  // for at least one of `topics`, except those in `except`; at most `limit`. Errors: Store*.
  Result<std::map<PublicKey, discovery::TransportInfo>> signed_infos_for(
      const std::set<Topic>& topics, const std::set<PublicKey>& except, std::size_t limit);

 private:
  store::Store& store_;
};

}  // namespace p2panda::node

// The address information gossip peers exchange in PeerData (Join, Neighbor, ForwardJoin,
// Shuffle): iroh-gossip's `AddrInfo { relay_url: Option<RelayUrl>, direct_addresses:
// BTreeSet<SocketAddr> }` in postcard (docs/gossip.md, "Driver"). It is how a node reached
// through a third one learns where to dial its new neighbour. Pure functions: any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

// Only the endpoint type (net::SocketAddress is the same), so that the fuzz target needs no
// coroutine support from asio.
#include <asio/ip/udp.hpp>

namespace p2panda::node {

struct GossipAddrInfo {
  std::optional<std::string> relay_url;
  std::vector<asio::ip::udp::endpoint> direct_addresses;  // sorted and unique, as a BTreeSet
};

// Sorts and deduplicates the addresses the way Rust's SocketAddr orders them (V4 before V6).
Bytes encode_addr_info(GossipAddrInfo info);

// Untrusted bytes from the network. Empty input is the default (no addresses), as in iroh.
// Errors: PostcardTruncated, PostcardNonCanonical, PostcardOverflow, PostcardInvalidValue,
// PostcardTrailingBytes. The relay URL is kept as the bytes sent (unused until relays exist).
Result<GossipAddrInfo> decode_addr_info(ByteSpan bytes);

}  // namespace p2panda::node

// A signed transport info as it travels inside discovery's Nodes message: p2panda's
// AuthenticatedTransportInfo{timestamp, signature, addresses: [Iroh(EndpointAddr)]} in postcard,
// the serde form p2panda-net's discovery codec writes. Layout and a worked example:
// docs/discovery.md, "Transport infos on the wire". Pure functions: any thread.
#pragma once

#include <cstddef>

#include "core/postcard.hpp"
#include "discovery/transport_info.hpp"

namespace p2panda::discovery {

struct TransportInfoLimits {
  std::size_t max_addresses = 64;       // IP addresses in one info
  std::size_t max_relay_url_bytes = 1024;
};

// Writes `info` for `node` (the node id goes into the EndpointAddr, as p2panda signs it).
void write_transport_info(postcard::Writer& writer, const PublicKey& node,
                          const TransportInfo& info);

// Reads one info for `node`; its addresses come back sorted and de-duplicated (iroh keeps them in
// a BTreeSet). Does not verify the signature: the caller does, before trusting it.
// Errors, each naming the offset: Postcard* (truncated, non-canonical, trailing), and
// PostcardInvalidValue for an EndpointAddr whose id is not `node`, anything but exactly one Iroh
// address, more than one relay, a custom (non-IP) address, a non-ASCII relay url, or more than
// `limits` allow.
Result<TransportInfo> read_transport_info(postcard::Reader& reader, const PublicKey& node,
                                          const TransportInfoLimits& limits = {});

// The fewest bytes an encoded info takes (no addresses): used to refuse hostile counts early.
constexpr std::size_t kMinTransportInfoBytes = 2 + 65 + 2 + 32 + 1;

}  // namespace p2panda::discovery

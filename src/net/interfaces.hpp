// The addresses a socket bound to a wildcard address (0.0.0.0 or ::) can be reached at: those of
// the machine's interfaces that are up, with the bound port. A wildcard address itself is no use
// to a peer, whether shown to a user or announced over mDNS.
#pragma once

#include <string>
#include <vector>

#include "net/asio.hpp"

namespace p2panda::net {

struct InterfaceFilter {
  // Only these interfaces (by name); all when empty.
  std::vector<std::string> names;
  bool v6 = true;  // also expand "::" (mDNS announces IPv4 only)
};

// `bound` with each wildcard address replaced by the matching interface addresses (non-loopback
// first, so the first address is the one another host can use). IPv6 link-local addresses are
// left out: they need a scope id a peer on another link cannot use. Specific addresses pass
// through unchanged; a wildcard with no matching interface yields nothing.
std::vector<SocketAddress> reachable_addresses(const std::vector<SocketAddress>& bound,
                                               const InterfaceFilter& filter = {});

}  // namespace p2panda::net

#include "net/interfaces.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace p2panda::net {
namespace {

struct Found {
  asio::ip::address address;
  bool loopback = false;
};

std::vector<Found> interface_addresses(const InterfaceFilter& filter) {
  std::vector<Found> found;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return found;
  for (auto* entry = list; entry; entry = entry->ifa_next) {
    if (!entry->ifa_addr || !(entry->ifa_flags & IFF_UP)) continue;
    if (!filter.names.empty() &&
        std::find(filter.names.begin(), filter.names.end(), entry->ifa_name) ==
            filter.names.end()) {
      continue;
    }
    const bool loopback = (entry->ifa_flags & IFF_LOOPBACK) != 0;
    if (entry->ifa_addr->sa_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
      found.push_back({asio::ip::address_v4(ntohl(v4->sin_addr.s_addr)), loopback});
    } else if (entry->ifa_addr->sa_family == AF_INET6 && filter.v6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), v6->sin6_addr.s6_addr, bytes.size());
      const asio::ip::address_v6 address(bytes);
      if (address.is_link_local()) continue;
      found.push_back({address, loopback});
    }
  }
  ::freeifaddrs(list);
  std::stable_partition(found.begin(), found.end(), [](const Found& f) { return !f.loopback; });
  return found;
}

}  // namespace

std::vector<SocketAddress> reachable_addresses(const std::vector<SocketAddress>& bound,
                                               const InterfaceFilter& filter) {
  std::vector<SocketAddress> out;
  std::vector<Found> interfaces;
  bool listed = false;
  for (const auto& address : bound) {
    if (!address.address().is_unspecified()) {
      out.push_back(address);
      continue;
    }
    if (!listed) {
      interfaces = interface_addresses(filter);
      listed = true;
    }
    for (const auto& found : interfaces) {
      if (found.address.is_v4() == address.address().is_v4()) {
        out.emplace_back(found.address, address.port());
      }
    }
  }
  return out;
}

}  // namespace p2panda::net

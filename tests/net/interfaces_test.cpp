// Wildcard bind addresses expanded into the interface addresses peers can use, on this machine's
// real interfaces (read only: nothing is sent).
#include <gtest/gtest.h>

#include <algorithm>

#include "net/interfaces.hpp"

namespace p2panda::net::test {
namespace {

const auto kLoopback = asio::ip::address_v4::loopback();

bool contains(const std::vector<SocketAddress>& list, const SocketAddress& address) {
  return std::find(list.begin(), list.end(), address) != list.end();
}

TEST(ReachableAddresses, AWildcardBecomesTheInterfacesWithTheBoundPort) {
  const auto out = reachable_addresses({SocketAddress(asio::ip::address_v4::any(), 4433)});
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(contains(out, SocketAddress(kLoopback, 4433)));
  for (const auto& address : out) {
    EXPECT_FALSE(address.address().is_unspecified()) << address;
    EXPECT_TRUE(address.address().is_v4()) << address;
    EXPECT_EQ(address.port(), 4433);
  }
  // Another host can use the first one: loopback comes after every other interface.
  const auto first_loopback = std::find_if(out.begin(), out.end(), [](const SocketAddress& a) {
    return a.address().is_loopback();
  });
  EXPECT_TRUE(std::all_of(first_loopback, out.end(), [](const SocketAddress& a) {
    return a.address().is_loopback();
  }));
}

TEST(ReachableAddresses, AFilterKeepsOnlyTheNamedInterfaces) {
  const auto out = reachable_addresses({SocketAddress(asio::ip::address_v4::any(), 9)},
                                       InterfaceFilter{{"lo"}, /*v6=*/false});
  EXPECT_EQ(out, std::vector<SocketAddress>{SocketAddress(kLoopback, 9)});
  EXPECT_TRUE(reachable_addresses({SocketAddress(asio::ip::address_v4::any(), 9)},
                                  InterfaceFilter{{"no-such-interface"}, true})
                  .empty());
}

TEST(ReachableAddresses, SpecificAddressesPassThroughInOrder) {
  const std::vector<SocketAddress> bound{
      SocketAddress(asio::ip::make_address("192.0.2.7"), 1),
      SocketAddress(kLoopback, 2)};
  EXPECT_EQ(reachable_addresses(bound), bound);
}

TEST(ReachableAddresses, AnIpv6WildcardYieldsNoLinkLocalAddress) {
  const auto out = reachable_addresses({SocketAddress(asio::ip::address_v6::any(), 7)});
  for (const auto& address : out) {
    EXPECT_TRUE(address.address().is_v6()) << address;
    EXPECT_FALSE(address.address().to_v6().is_link_local()) << address;
    EXPECT_FALSE(address.address().is_unspecified()) << address;
  }
}

}  // namespace
}  // namespace p2panda::net::test

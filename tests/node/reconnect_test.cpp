// Stale and dead addresses do not hold up sync, over real QUIC on 127.0.0.1: a peer that
// restarted on a new address is synced with at once, even while we still dial its old one
// (SyncManager::claim_incoming), and of a peer's addresses a dead one is not waited for.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node_fixture.hpp"

namespace p2panda::test {
namespace {

// A UDP socket on 127.0.0.1 that never answers: a QUIC dial to it waits for the whole handshake
// timeout (10 s), like a dial to the old address of a node that moved.
class SilentUdp {
 public:
  SilentUdp() : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      socklen_t length = sizeof address;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
      port_ = ntohs(address.sin_port);
    }
  }
  ~SilentUdp() { ::close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool ok() const { return port_ != 0; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

TEST(NodeReconnect, APeerOnANewAddressIsNotRefusedWhileWeDialItsOldOne) {
  Nodes nodes(Net::Quic);
  // Long retries: only the first dial of each side is under test.
  auto& first = nodes.add([](NodeBuilder& builder) { builder.sync_retry(60s); });
  auto& second = nodes.add([](NodeBuilder& builder) { builder.sync_retry(60s); });
  // The tie-break between two dials favours the lower node id, so the lower one plays the node
  // that dials the stale address: the case in which it used to refuse the peer's session.
  Node& lower = first.id() < second.id() ? first : second;
  Node& higher = first.id() < second.id() ? second : first;
  SilentUdp stale;
  ASSERT_TRUE(stale.ok());

  const Topic topic = Topic::random();
  auto published = lower.stream_blocking<std::string>(topic);
  ASSERT_TRUE(published);
  ASSERT_TRUE(published->publisher.publish_blocking("while you were away"));
  // The lower node knows the higher one only at an address where nothing answers: its dial
  // hangs until the handshake timeout.
  ASSERT_TRUE(lower.insert_bootstrap(higher.id(), {stale.address()}));

  auto receiving = higher.stream_blocking<std::string>(topic);
  ASSERT_TRUE(receiving);
  ASSERT_TRUE(higher.insert_bootstrap(lower.id(), lower.addresses()));
  // Well before the stale dial's 10 s timeout and the 60 s retry: refused, this would not come.
  EXPECT_EQ(messages(receiving->subscription, 1, 5s),
            std::vector<std::string>{"while you were away"});
}

// A node known at a dead address and a live one is reached through the live one at once: its
// addresses are dialled staggered, so the dead one, dialled first, does not cost the handshake
// timeout before the live one is tried.
TEST(NodeReconnect, ADeadAddressDoesNotHoldUpSync) {
  Nodes nodes(Net::Quic);
  // The address book keeps a peer's addresses sorted: the dead one on 127.0.0.1 comes before
  // the author's on 127.0.0.2, so it is dialled first.
  auto& author = nodes.add([](NodeBuilder& builder) { builder.bind_v4("127.0.0.2"); });
  auto& reader = nodes.add([](NodeBuilder& builder) {
    builder.sync_retry(60s);
    builder.config().transport.handshake_timeout = 60s;  // far beyond the wait below
  });
  SilentUdp dead;
  ASSERT_TRUE(dead.ok());
  const Topic topic = Topic::random();
  auto published = author.stream_blocking<std::string>(topic);
  ASSERT_TRUE(published);
  ASSERT_TRUE(published->publisher.publish_blocking("found you"));

  auto receiving = reader.stream_blocking<std::string>(topic);
  ASSERT_TRUE(receiving);
  std::vector<std::string> addresses{dead.address()};
  for (const auto& address : author.addresses()) addresses.push_back(address);
  ASSERT_TRUE(reader.insert_bootstrap(author.id(), addresses));
  EXPECT_EQ(messages(receiving->subscription, 1, 10s), std::vector<std::string>{"found you"});
}

}  // namespace
}  // namespace p2panda::test

// A peer that restarted on a new address is synced with at once, even while we still dial its
// old one (SyncManager::claim_incoming), over real QUIC on 127.0.0.1.
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

}  // namespace
}  // namespace p2panda::test

// What a node bound to 0.0.0.0 announces: every interface's address, and the new one when an
// interface changes address (DiscoveryManager::refresh_addresses, net::AddressWatch). Runs in a network namespace
// of its own with a veth pair, so that addresses can change without touching the host;
// skipped where namespaces cannot be made (not root).
#include <sched.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "discovery/mdns.hpp"
#include "net/mdns_socket.hpp"
#include "node_fixture.hpp"

namespace p2panda::test {
namespace {

namespace mdns = discovery::mdns;

std::uint16_t test_port() { return static_cast<std::uint16_t>(20000 + ::getpid() % 30000); }

// Runs `body` on a thread that first moves into a new network namespace. The nodes it spawns
// run their threads there too; the namespace goes away with the last of them. Returns the
// reason it could not, or empty once `body` ran.
std::string in_new_netns(const std::function<void()>& body) {
  std::string failure;
  std::thread thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      failure = "unshare(CLONE_NEWNET) failed (needs root)";
      return;
    }
    // `ip` forks from this thread, so it runs in the new namespace as well.
    if (std::system("ip link set lo up && ip link add p2p0 type veth peer name p2p1 && "
                    "ip addr add 10.11.0.1/24 dev p2p0 && ip link set p2p1 up && ip link set p2p0 up") != 0) {
      failure = "could not set up the veth pair with ip(8)";
      return;
    }
    body();
  });
  thread.join();
  return failure;
}

// Every mDNS announcement of our service heard on an interface, in order of arrival.
class Listener {
 public:
  Listener(const std::string& interface, std::uint16_t port) : work_(io_.get_executor()) {
    auto socket = net::MdnsSocket::open(io_.get_executor(), {{interface}, port});
    EXPECT_TRUE(socket) << socket.error().to_string();
    if (socket) socket_ = std::move(*socket);
    thread_ = std::thread([this] { io_.run(); });
    if (socket_) {
      asio::post(io_, [this] {
        socket_->start([this](ByteSpan datagram) {
          auto parsed = mdns::parse(datagram, mdns::kService);
          if (!parsed) return;
          std::lock_guard lock(mutex_);
          for (auto& announcement : parsed->announcements) heard_.push_back(announcement);
          changed_.notify_all();
        });
      });
    }
  }
  ~Listener() {
    asio::post(io_, [this] { socket_.reset(); });
    work_.reset();
    thread_.join();
  }

  // Asks every node on the interface to announce itself.
  void query() {
    asio::post(io_, [this] {
      if (socket_) socket_->send(mdns::make_query(mdns::kService));
    });
  }

  // The first announcement by `node` (after those already taken) that `wanted` accepts.
  std::optional<mdns::Announcement> wait(const NodeId& node,
                                         const std::function<bool(const mdns::Announcement&)>& wanted,
                                         std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    std::optional<mdns::Announcement> found;
    changed_.wait_for(lock, timeout, [&] {
      for (; taken_ < heard_.size(); ++taken_) {
        if (heard_[taken_].node == node && wanted(heard_[taken_])) {
          found = heard_[taken_++];
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<net::MdnsSocket> socket_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<mdns::Announcement> heard_;
  std::size_t taken_ = 0;
};

bool has_ip(const mdns::Announcement& announcement, const std::string& ip) {
  for (const auto& address : announcement.addresses) {
    const auto text = address.to_string();
    if (text.substr(0, text.rfind(':')) == ip) return true;
  }
  return false;
}

TEST(AddressChange, ANodeOnAWildcardAddressAnnouncesItsNewAddress) {
  const std::string skipped = in_new_netns([] {
    Listener listener("p2p0", test_port());
    NodeBuilder builder = p2panda::builder();
    builder.bind_v4("0.0.0.0")
        .mdns_mode(MdnsMode::Active)
        .mdns_interface("p2p0")
        .mdns_port(test_port());
    auto node = builder.spawn_blocking();
    ASSERT_TRUE(node) << node.error().to_string();
    auto first = listener.wait(node->id(), [](const auto& heard) {
      return has_ip(heard, "10.11.0.1");
    });
    ASSERT_TRUE(first) << "the node never announced its first address";
    auto first_info = mdns::verified_info(*first);
    ASSERT_TRUE(first_info) << first_info.error().to_string();

    // The interface moves to another network.
    ASSERT_EQ(std::system("ip addr add 10.12.0.1/24 dev p2p0 && ip addr del 10.11.0.1/24 dev p2p0"),
              0);
    auto moved = listener.wait(node->id(), [](const auto& heard) {
      return has_ip(heard, "10.12.0.1");
    });
    ASSERT_TRUE(moved) << "the node did not announce its new address";
    EXPECT_FALSE(has_ip(*moved, "10.11.0.1")) << "the old address is still announced";
    // Signed anew, newer than the first: peers replace what they remembered of the node.
    auto moved_info = mdns::verified_info(*moved);
    ASSERT_TRUE(moved_info) << moved_info.error().to_string();
    EXPECT_GT(moved_info->timestamp, first_info->timestamp);
    EXPECT_GE(node->discovery_metrics().address_changes, 1u);
    const auto now = node->addresses();
    EXPECT_TRUE(std::any_of(now.begin(), now.end(), [](const std::string& address) {
      return address.rfind("10.12.0.1:", 0) == 0;
    })) << "Node::addresses() does not show the new address";
    node->shutdown();
  });
  if (!skipped.empty()) GTEST_SKIP() << skipped;
}

// One signed transport info serves mDNS and topic discovery, which reaches peers beyond the LAN:
// it carries every interface's address, not only those of the mDNS interfaces (here `lo`).
TEST(AddressChange, ANodeOnAWildcardAddressAnnouncesEveryInterface) {
  const std::string skipped = in_new_netns([] {
    Listener listener("lo", test_port());
    NodeBuilder builder = p2panda::builder();
    builder.bind_v4("0.0.0.0").mdns_mode(MdnsMode::Active).mdns_port(test_port());
    auto node = builder.spawn_blocking();
    ASSERT_TRUE(node) << node.error().to_string();
    auto heard = listener.wait(node->id(), [](const auto&) { return true; });
    ASSERT_TRUE(heard) << "the node never announced itself";
    EXPECT_TRUE(has_ip(*heard, "10.11.0.1")) << "the other interface's address is missing";
    EXPECT_TRUE(has_ip(*heard, "127.0.0.1"));
    node->shutdown();
  });
  if (!skipped.empty()) GTEST_SKIP() << skipped;
}

// An interface removed and created again has a new index, and the kernel dropped the node's
// membership with the old one: mDNS must join the new one, or it is deaf and mute there.
TEST(AddressChange, MdnsJoinsAnInterfaceThatWasCreatedAgain) {
  const std::string skipped = in_new_netns([] {
    NodeBuilder builder = p2panda::builder();
    builder.bind_v4("127.0.0.1")  // not a wildcard: only the mDNS interface is watched
        .mdns_mode(MdnsMode::Active)
        .mdns_interface("p2p0")
        .mdns_port(test_port());
    auto node = builder.spawn_blocking();
    ASSERT_TRUE(node) << node.error().to_string();
    {
      Listener before("p2p0", test_port());
      before.query();
      ASSERT_TRUE(before.wait(node->id(), [](const auto&) { return true; }))
          << "the node never announced itself";
    }
    ASSERT_EQ(std::system("ip link del p2p0 && ip link add p2p0 type veth peer name p2p1 && "
                          "ip addr add 10.11.0.1/24 dev p2p0 && ip link set p2p1 up && "
                          "ip link set p2p0 up"),
              0);
    Listener after("p2p0", test_port());
    // Queried until it answers: its own announcement of the new interface may have gone out
    // before this listener joined.
    std::optional<mdns::Announcement> heard;
    for (int attempt = 0; attempt < 5 && !heard; ++attempt) {
      after.query();
      heard = after.wait(node->id(), [](const auto&) { return true; }, 2s);
    }
    EXPECT_TRUE(heard) << "mDNS did not join the interface created again";
    EXPECT_GE(node->discovery_metrics().mdns_rejoins, 1u);
    node->shutdown();
  });
  if (!skipped.empty()) GTEST_SKIP() << skipped;
}

}  // namespace
}  // namespace p2panda::test

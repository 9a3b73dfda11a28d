// Gossip in whole nodes: ephemeral streams, the sync overlay's neighbours driving sync sessions,
// late joiners and the event stream, over the simulated network and QUIC on 127.0.0.1.
#include <algorithm>
#include <future>
#include <thread>

#include "gossip_fixture.hpp"
#include "node/gossip_driver.hpp"

namespace p2panda::test {
namespace {

class Gossip : public testing::TestWithParam<Net> {};

TEST_P(Gossip, EphemeralMessagesReachEverySubscriberOnceAndAreNotStored) {
  Nodes nodes(GetParam());
  Node& a = nodes.add();
  Node& b = nodes.add();
  Node& c = nodes.add();
  const Topic topic = Topic::random();
  std::vector<EventStream> events;
  std::vector<EphemeralStream<std::string>> streams;
  for (Node* node : {&a, &b, &c}) {
    auto opened = node->event_stream_blocking();
    ASSERT_TRUE(opened) << opened.error().to_string();
    events.push_back(*opened);
    auto stream = node->ephemeral_stream_blocking<std::string>(topic);
    ASSERT_TRUE(stream) << stream.error().to_string();
    streams.push_back(*stream);
  }
  // b and c know only a; gossip introduces them to each other.
  ASSERT_TRUE(b.insert_bootstrap(a.id(), a.addresses()));
  ASSERT_TRUE(c.insert_bootstrap(a.id(), a.addresses()));
  for (auto& stream : events) ASSERT_TRUE(wait_event(stream, ephemeral_neighbor));
  ASSERT_TRUE(wait_event(events[1], [&](const SystemEvent& event) {
    auto* up = std::get_if<NeighborUp>(&event);
    return up != nullptr && up->ephemeral && up->node == c.id();
  })) << "b and c never became neighbours";

  const std::vector<std::string> names{"a", "b", "c"};
  for (std::size_t i = 0; i < 3; ++i) {
    for (int n = 0; n < 3; ++n) {
      ASSERT_TRUE(streams[i].publisher.publish_blocking(names[i] + std::to_string(n)));
    }
  }
  for (std::size_t i = 0; i < 3; ++i) {
    std::set<std::string> expected;
    for (std::size_t j = 0; j < 3; ++j) {
      if (j == i) continue;
      for (int n = 0; n < 3; ++n) expected.insert(names[j] + std::to_string(n));
    }
    auto received = receive_until(streams[i].subscription, expected);
    std::sort(received.begin(), received.end());
    EXPECT_EQ(received, std::vector<std::string>(expected.begin(), expected.end()))
        << "node " << names[i];
  }
  // One more from a, after everything else: a duplicate of an earlier one would come first.
  ASSERT_TRUE(streams[0].publisher.publish_blocking("end"));
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(receive_until(streams[i].subscription, {"end"}), std::vector<std::string>{"end"});
  }
  for (Node* node : {&a, &b, &c}) {
    auto metrics = node->metrics();
    EXPECT_EQ(metrics.operations_published, 0u);
    EXPECT_EQ(metrics.operations_ingested, 0u);
    EXPECT_EQ(metrics.ephemeral_rejected, 0u);
  }
  EXPECT_EQ(a.metrics().ephemeral_published, 4u);
  // Not stored: a replay of the topic from the start finds only a marker published after them.
  StreamOptions options;
  options.from = from::Start{};
  options.cursor_name = "check";
  auto persisted = b.stream_blocking<std::string>(topic, options);
  ASSERT_TRUE(persisted);
  ASSERT_TRUE(persisted->publisher.publish_blocking("marker"));
  EXPECT_EQ(messages(persisted->subscription, 1), std::vector<std::string>{"marker"});
}

TEST_P(Gossip, LateJoinerEntersOverlayReceivesEphemeralAndSyncsWithNeighbours) {
  Nodes nodes(GetParam());
  Node& a = nodes.add();
  Node& b = nodes.add();
  const Topic topic = Topic::random();
  auto a_stream = a.stream_blocking<std::string>(topic);
  auto a_ephemeral = a.ephemeral_stream_blocking<std::string>(topic);
  ASSERT_TRUE(a_stream && a_ephemeral);
  ASSERT_TRUE(a_stream->publisher.publish_blocking("before c"));
  auto b_events = b.event_stream_blocking();
  ASSERT_TRUE(b_events);
  auto b_stream = b.stream_blocking<std::string>(topic);
  ASSERT_TRUE(b_stream);
  ASSERT_TRUE(b.insert_bootstrap(a.id(), a.addresses()));
  ASSERT_TRUE(wait_event(*b_events, event_about<SyncSessionStarted>(a.id())));
  EXPECT_EQ(messages(b_stream->subscription, 1), std::vector<std::string>{"before c"});

  // c arrives late and knows only b; a never hears of c except through gossip.
  Node& c = nodes.add();
  auto c_events = c.event_stream_blocking();
  ASSERT_TRUE(c_events);
  auto c_stream = c.stream_blocking<std::string>(topic);
  auto c_ephemeral = c.ephemeral_stream_blocking<std::string>(topic);
  ASSERT_TRUE(c_stream && c_ephemeral);
  ASSERT_TRUE(c.insert_bootstrap(b.id(), b.addresses()));
  // The sync overlay makes a a neighbour of c, and the neighbour a sync peer.
  ASSERT_TRUE(wait_event(*c_events, [&](const SystemEvent& event) {
    auto* up = std::get_if<NeighborUp>(&event);
    return up != nullptr && !up->ephemeral && up->node == a.id() && up->topic == topic;
  })) << "c never became a's neighbour in the sync overlay";
  ASSERT_TRUE(wait_event(*c_events, event_about<SyncSessionStarted>(a.id())));
  EXPECT_EQ(messages(c_stream->subscription, 1), std::vector<std::string>{"before c"});

  // Later ephemeral messages from a reach c.
  ASSERT_TRUE(a_stream->publisher.publish_blocking("after c"));
  EXPECT_EQ(messages(c_stream->subscription, 1), std::vector<std::string>{"after c"});
  ASSERT_TRUE(a_ephemeral->publisher.publish_blocking("hello c"));
  EXPECT_EQ(receive_until(c_ephemeral->subscription, {"hello c"}),
            std::vector<std::string>{"hello c"});
}

TEST_P(Gossip, NeighbourDownEndsItsSession) {
  Nodes nodes(GetParam());
  Node& a = nodes.add();
  Node& b = nodes.add();
  Node& c = nodes.add();
  const Topic topic = Topic::random();
  auto c_events = c.event_stream_blocking();
  ASSERT_TRUE(c_events);
  std::vector<Stream<std::string>> streams;  // held: a dropped stream unfollows its topic
  for (Node* node : {&a, &b, &c}) {
    auto stream = node->stream_blocking<std::string>(topic);
    ASSERT_TRUE(stream);
    streams.push_back(std::move(*stream));
  }
  ASSERT_TRUE(b.insert_bootstrap(a.id(), a.addresses()));
  ASSERT_TRUE(c.insert_bootstrap(a.id(), a.addresses()));
  // c syncs with b only because gossip made b its neighbour.
  ASSERT_TRUE(wait_event(*c_events, event_about<SyncSessionStarted>(b.id())));
  b.shutdown();
  bool down = false, ended = false;
  ASSERT_TRUE(wait_event(*c_events,
                         [&](const SystemEvent& event) {
                           if (auto* gone = std::get_if<NeighborDown>(&event))
                             down |= gone->node == b.id();
                           if (auto* over = std::get_if<SyncSessionEnded>(&event))
                             ended |= over->node == b.id();
                           return down && ended;
                         }))
      << "down " << down << " ended " << ended;
}

TEST_P(Gossip, EventStreamReportsBootstrapPeers) {
  Nodes nodes(GetParam());
  Node& a = nodes.add();
  Node& b = nodes.add();
  auto events = a.event_stream_blocking();
  ASSERT_TRUE(events);
  ASSERT_TRUE(a.insert_bootstrap(b.id(), b.addresses()));
  ASSERT_TRUE(wait_event(*events, [&](const SystemEvent& event) {
    auto* found = std::get_if<PeerDiscovered>(&event);
    return found != nullptr && found->node == b.id() &&
           found->via == PeerDiscovered::Via::Bootstrap;
  }));
  a.shutdown();
  auto after = events->next(1s);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), Errc::NodeShutDown);
}

// Upstream p2panda #723: a node whose only bootstrap peer is not up yet when it joins still
// enters the overlay once that peer appears (the core's join retry; simulated network, where a
// node id is enough to dial).
TEST(GossipSim, JoinerWhoseBootstrapComesUpLaterEntersTheOverlay) {
  Nodes nodes(Net::Sim);
  const PrivateKey later_key = PrivateKey::generate();
  Node& early = nodes.add();
  const Topic topic = Topic::random();
  auto events = early.event_stream_blocking();
  auto early_stream = early.ephemeral_stream_blocking<std::string>(topic);
  ASSERT_TRUE(events && early_stream);
  ASSERT_TRUE(early.insert_bootstrap(later_key.public_key(), {}));
  // The first Join has failed (nobody has that id yet) before the peer comes up.
  ASSERT_TRUE(wait_event(*events, event_about<PeerDiscovered>(later_key.public_key())));
  Node& later = nodes.add([&](NodeBuilder& builder) { builder.private_key(later_key); });
  auto later_stream = later.ephemeral_stream_blocking<std::string>(topic);
  ASSERT_TRUE(later_stream);
  ASSERT_TRUE(wait_event(*events, event_about<NeighborUp>(later.id()), 20s));
  ASSERT_TRUE(later_stream->publisher.publish_blocking("made it"));
  EXPECT_EQ(receive_until(early_stream->subscription, {"made it"}),
            std::vector<std::string>{"made it"});
}

// A raw gossip peer on the simulated network: the driver without a node, on a thread of its
// own, joined to `topic` with `node` as its neighbour. It sends whatever bytes a test gives it.
class RawGossipPeer {
 public:
  RawGossipPeer(Nodes& nodes, Node& node, const Topic& topic, EventStream& node_events)
      : topic_(topic) {
    transport_ = nodes.hub()->add(key_, io_.get_executor());
    // The raw peer broadcasts once the node is in its own active view, not just it in the node's.
    node::GossipCallbacks callbacks;
    callbacks.neighbor = [this, done = false](const Topic&, const NodeId&, bool up) mutable {
      if (up && !done) joined_.set_value();
      done = done || up;
    };
    driver_ = std::make_unique<node::GossipDriver>(
        *transport_, protocol_alpn("/iroh-gossip/1", node.network_id()), gossip::TopicConfig{}, 7,
        std::move(callbacks));
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
    asio::post(io_, [this, id = node.id()] {
      driver_->start();
      driver_->join(topic_, {id});
    });
    EXPECT_TRUE(wait_event(node_events, event_about<NeighborUp>(key_.public_key())));
    EXPECT_EQ(joined_.get_future().wait_for(10s), std::future_status::ready);
  }
  ~RawGossipPeer() {
    asio::post(io_, [this] { driver_->shutdown(); });
    io_.stop();
    thread_.join();
    driver_.reset();
    transport_.reset();
  }

  const PrivateKey& key() const { return key_; }
  // Broadcasts the encoded messages in order, on the peer's thread.
  void broadcast(std::vector<Bytes> messages) {
    asio::post(io_, [this, messages = std::move(messages)] {
      for (const auto& message : messages) EXPECT_TRUE(driver_->broadcast(topic_, message));
    });
  }
  // One signed ephemeral message with `body` (any CBOR item).
  Bytes message(Bytes body) {
    auto created = EphemeralMessage::create(key_, Timestamp(++clock_), 0, std::move(body));
    EXPECT_TRUE(created);
    return created->encode();
  }

 private:
  Topic topic_;
  PrivateKey key_ = PrivateKey::generate();
  asio::io_context io_;
  std::shared_ptr<net::Transport> transport_;
  std::promise<void> joined_;
  std::unique_ptr<node::GossipDriver> driver_;
  std::thread thread_;
  std::uint64_t clock_ = 0;
};

// Messages with a broken signature are refused and counted.
TEST(GossipSim, BadlySignedEphemeralMessagesAreRefusedAndCounted) {
  Nodes nodes(Net::Sim);
  Node& a = nodes.add();
  const Topic topic = Topic::random();
  auto events = a.event_stream_blocking();
  auto stream = a.ephemeral_stream_blocking<std::string>(topic);
  ASSERT_TRUE(events && stream);
  RawGossipPeer peer(nodes, a, topic, *events);

  Bytes forged = peer.message(Codec<std::string>::encode("two"));
  forged[40] ^= 0x01;  // inside the signature: [0x86, 0x01, 0x58 0x20 key(32), 0x58 0x40 sig...]
  ASSERT_TRUE(EphemeralMessage::decode(forged));
  peer.broadcast({peer.message(Codec<std::string>::encode("one")), forged,
                  peer.message(Codec<std::string>::encode("three"))});
  EXPECT_EQ(receive_until(stream->subscription, {"one", "three"}),
            (std::vector<std::string>{"one", "three"}));
  EXPECT_EQ(a.metrics().ephemeral_received, 3u);
  EXPECT_EQ(a.metrics().ephemeral_rejected, 1u);
}

// Nothing is lost silently: a subscription that does not keep up loses its oldest messages and
// says how many, and bodies that are not a T are skipped and counted.
TEST(GossipSim, EphemeralMessagesLostOrSkippedAreCounted) {
  Nodes nodes(Net::Sim);
  Node& a = nodes.add();
  const Topic topic = Topic::random();
  auto events = a.event_stream_blocking();
  auto reader = a.ephemeral_stream_blocking<std::string>(topic);
  auto idle = a.ephemeral_stream_blocking<std::string>(topic);  // not read until the end
  ASSERT_TRUE(events && reader && idle);
  RawGossipPeer peer(nodes, a, topic, *events);

  constexpr int kMessages = 300;  // the mailbox holds 256
  std::vector<Bytes> messages;
  for (int i = 0; i < kMessages; ++i) {
    messages.push_back(peer.message(Codec<std::string>::encode("m" + std::to_string(i))));
  }
  messages.push_back(peer.message(Codec<std::uint64_t>::encode(7)));  // not a string
  messages.push_back(peer.message(Codec<std::string>::encode("last")));
  peer.broadcast(std::move(messages));
  // Once the reader has "last", every message reached both mailboxes.
  ASSERT_EQ(receive_until(reader->subscription, {"last"}).back(), "last");
  EXPECT_EQ(a.metrics().ephemeral_received, static_cast<std::uint64_t>(kMessages + 2));

  const std::uint64_t held = 256;
  EXPECT_EQ(idle->subscription.dropped(), kMessages + 2 - held);
  std::vector<std::string> received;
  for (;;) {
    auto message = idle->subscription.next(0ms);
    ASSERT_TRUE(message) << message.error().to_string();
    if (!*message) break;
    received.push_back((*message)->message);
  }
  // The newest 256 stayed: m46..m299, the integer (skipped) and "last".
  ASSERT_EQ(received.size(), held - 1);
  EXPECT_EQ(received.front(), "m" + std::to_string(kMessages + 2 - held));
  EXPECT_EQ(received.back(), "last");
  EXPECT_EQ(idle->subscription.undecodable(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Net, Gossip, testing::Values(Net::Sim, Net::Quic), net_name);

}  // namespace
}  // namespace p2panda::test

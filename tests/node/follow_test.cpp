// How long a node follows a topic: while any stream it opened for it is held (publisher or
// subscription). Dropping both halves stops syncing the topic, as in p2panda; opening it again
// resumes, and what was missed meanwhile arrives by sync. Ephemeral streams keep the node in
// the topic's ephemeral overlay the same way. Simulated network and QUIC.
#include "gossip_fixture.hpp"
#include "node_fixture.hpp"

namespace p2panda::test {
namespace {

class Follow : public testing::TestWithParam<Net> {};

// Whether a Processed event with `text` arrives on `subscription` within 10 s.
bool receives(Subscription<std::string>& subscription, const std::string& text) {
  bool seen = false;
  collect<std::string>(subscription, [&](const StreamEvent<std::string>& event) {
    auto* processed = std::get_if<Processed<std::string>>(&event);
    seen = processed != nullptr && processed->message == text;
    return seen;
  });
  return seen;
}

TEST_P(Follow, DroppingBothHalvesStopsSyncingUntilTheTopicIsOpenedAgain) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto& b = nodes.add();
  const auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a);
  auto events = a.event_stream_blocking();
  ASSERT_TRUE(events);
  {
    auto on_b = b.stream_blocking<std::string>(topic);
    ASSERT_TRUE(on_b);
    nodes.introduce_all();
    ASSERT_TRUE(on_b->publisher.publish_blocking("before"));
    ASSERT_TRUE(receives(on_a->subscription, "before"));
  }  // b drops publisher and subscription
  bool ended = false, down = false, refused = false;
  ASSERT_TRUE(wait_event(*events, [&](const SystemEvent& event) {
    if (auto* over = std::get_if<SyncSessionEnded>(&event)) {
      if (over->node == b.id() && over->topic == topic) {
        EXPECT_FALSE(over->error) << over->error->to_string();  // closed, not failed
        ended = true;
      }
    }
    if (auto* gone = std::get_if<NeighborDown>(&event)) {
      down |= gone->node == b.id() && gone->topic == topic && !gone->ephemeral;
    }
    // a dials again, and b now refuses the topic.
    if (auto* failed = std::get_if<SyncSessionFailed>(&event)) {
      refused |= ended && failed->node == b.id() && failed->topic == topic &&
                 failed->error.message().find("does not follow") != std::string::npos;
    }
    return ended && down && refused;
  })) << "ended " << ended << " down " << down << " refused " << refused;

  ASSERT_TRUE(on_a->publisher.publish_blocking("while b was away"));
  auto again = b.stream_blocking<std::string>(topic);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(receives(again->subscription, "while b was away"));
}

TEST_P(Follow, APublisherAloneKeepsTheTopicSynced) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto& b = nodes.add();
  const auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a);
  std::optional<Publisher<std::string>> publisher;
  {
    auto on_b = b.stream_blocking<std::string>(topic);
    ASSERT_TRUE(on_b);
    publisher.emplace(std::move(on_b->publisher));
  }  // b's subscription is gone; its publisher is not
  nodes.introduce_all();
  ASSERT_TRUE(publisher->publish_blocking("from a publisher without a subscription"));
  EXPECT_TRUE(receives(on_a->subscription, "from a publisher without a subscription"));
}

// Ephemeral streams alike: the node stays in the topic's ephemeral overlay while one is held.
TEST_P(Follow, DroppingAnEphemeralStreamLeavesItsOverlay) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto& b = nodes.add();
  const auto topic = Topic::random();
  auto on_a = a.ephemeral_stream_blocking<std::string>(topic);
  auto events = a.event_stream_blocking();
  ASSERT_TRUE(on_a && events);
  auto neighbour = [&](bool up) {
    return [&, up](const SystemEvent& event) {
      if (up) {
        auto* typed = std::get_if<NeighborUp>(&event);
        return typed && typed->ephemeral && typed->node == b.id() && typed->topic == topic;
      }
      auto* typed = std::get_if<NeighborDown>(&event);
      return typed && typed->ephemeral && typed->node == b.id() && typed->topic == topic;
    };
  };
  {
    auto on_b = b.ephemeral_stream_blocking<std::string>(topic);
    auto b_events = b.event_stream_blocking();
    ASSERT_TRUE(on_b && b_events);
    nodes.introduce_all();
    ASSERT_TRUE(wait_event(*events, neighbour(true)));
    // b too: leaving tells only the peers in its own active view (HyParView's quit).
    ASSERT_TRUE(wait_event(*b_events, [&](const SystemEvent& event) {
      auto* up = std::get_if<NeighborUp>(&event);
      return up && up->ephemeral && up->node == a.id() && up->topic == topic;
    }));
  }  // b drops publisher and subscription
  ASSERT_TRUE(wait_event(*events, neighbour(false))) << "b stayed in the overlay";

  auto again = b.ephemeral_stream_blocking<std::string>(topic);
  ASSERT_TRUE(again);
  ASSERT_TRUE(wait_event(*events, neighbour(true))) << "b did not join again";
  ASSERT_TRUE(on_a->publisher.publish_blocking("hello again"));
  EXPECT_EQ(receive_until(again->subscription, {"hello again"}),
            std::vector<std::string>{"hello again"});
}

INSTANTIATE_TEST_SUITE_P(Transports, Follow, testing::Values(Net::Sim, Net::Quic), net_name);

}  // namespace
}  // namespace p2panda::test

// HyParView membership rules on a single core, messages fed by hand.
#include <gtest/gtest.h>

#include "gossip/topic_state.hpp"
#include "message_samples.hpp"

namespace p2panda::gossip {
namespace {

using testing::filled;

const PeerId kMe = filled<PeerId>(1);

template <class T>
std::vector<T> only(const std::vector<Output>& outputs) {
  std::vector<T> found;
  for (const auto& output : outputs) {
    if (const auto* value = std::get_if<T>(&output)) found.push_back(*value);
  }
  return found;
}

std::vector<Message> sent_to(const std::vector<Output>& outputs, const PeerId& peer) {
  std::vector<Message> messages;
  for (const auto& send : only<SendMessage>(outputs)) {
    if (send.to == peer) messages.push_back(send.message);
  }
  return messages;
}

TEST(HyParView, JoinSendsJoinWithOurDataAndArmsTimers) {
  TopicState state(kMe, Bytes{9}, {}, 1);
  const PeerId boot = filled<PeerId>(2);
  auto outputs = state.join(std::vector<PeerId>{boot}, 0);
  ASSERT_EQ(sent_to(outputs, boot).size(), 1u);
  EXPECT_TRUE(sent_to(outputs, boot)[0] == Message(Join{Bytes{9}}));
  ASSERT_TRUE(state.next_deadline().has_value());
  EXPECT_EQ(*state.next_deadline(), 1'000'000u);  // join retry first, shuffle at 60 s
}

TEST(HyParView, JoinIsAcceptedWithHighPriorityAndForwarded) {
  TopicState state(kMe, std::nullopt, {}, 1);
  const PeerId a = filled<PeerId>(2), b = filled<PeerId>(3);
  auto first = state.handle_message(a, Join{}, 0);
  EXPECT_EQ(only<NeighborUp>(first).size(), 1u);
  EXPECT_TRUE(sent_to(first, a)[0] == Message(Neighbor{Priority::High, std::nullopt}));
  auto second = state.handle_message(b, Join{Bytes{7}}, 0);
  // a hears about b with the active random walk length.
  ASSERT_EQ(sent_to(second, a).size(), 1u);
  EXPECT_TRUE(sent_to(second, a)[0] == Message(ForwardJoin{{b, Bytes{7}}, 6}));
  EXPECT_EQ(only<PeerDataLearned>(second).size(), 1u);
  EXPECT_EQ(state.active_view().size(), 2u);
  EXPECT_EQ(state.eager_peers().size(), 2u);
}

TEST(HyParView, FullActiveViewEvictsOnJoinAndRefusesLowNeighbor) {
  TopicState state(kMe, std::nullopt, {}, 1);
  for (std::uint8_t i = 2; i < 7; ++i) (void)state.handle_message(filled<PeerId>(i), Join{}, 0);
  EXPECT_EQ(state.active_view().size(), 5u);
  auto outputs = state.handle_message(filled<PeerId>(10), Join{}, 0);
  EXPECT_EQ(state.active_view().size(), 5u);
  EXPECT_EQ(only<NeighborDown>(outputs).size(), 1u);
  EXPECT_EQ(state.passive_view().size(), 1u);  // the evicted peer stays known
  const PeerId low = filled<PeerId>(11);
  auto refused = state.handle_message(low, Neighbor{Priority::Low, std::nullopt}, 0);
  auto messages = sent_to(refused, low);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(message_name(messages[0]), "ShuffleReply");
  EXPECT_TRUE(messages[1] == Message(Disconnect{true, false}));
  EXPECT_GE(only<DisconnectPeer>(refused).size(), 1u);
}

TEST(HyParView, ShuffleReplyRefillsActiveViewFromPassive) {
  TopicState state(kMe, std::nullopt, {}, 1);
  const PeerId a = filled<PeerId>(2), b = filled<PeerId>(3), p = filled<PeerId>(4);
  (void)state.handle_message(a, Join{}, 0);
  (void)state.handle_message(b, Join{}, 0);
  auto outputs = state.handle_message(a, ShuffleReply{{{p, std::nullopt}}}, 0);
  EXPECT_EQ(state.passive_view(), std::vector<PeerId>{p});
  ASSERT_EQ(sent_to(outputs, p).size(), 1u);
  EXPECT_TRUE(sent_to(outputs, p)[0] == Message(Neighbor{Priority::Low, std::nullopt}));
  auto reply = state.handle_message(p, Neighbor{Priority::Low, std::nullopt}, 20);
  EXPECT_EQ(only<NeighborUp>(reply).size(), 1u);
  EXPECT_TRUE(sent_to(reply, p).empty());  // a reply is not answered again
  auto lost = state.peer_disconnected(a, 30);
  EXPECT_EQ(only<NeighborDown>(lost).size(), 1u);
  EXPECT_EQ(state.active_view().size(), 2u);
}

TEST(HyParView, UnansweredJoinIsRetriedWithBackoff) {
  TopicState state(kMe, std::nullopt, {}, 1);
  const PeerId boot = filled<PeerId>(2);
  (void)state.join(std::vector<PeerId>{boot}, 0);
  auto first = state.handle_timeout(1'000'000);
  EXPECT_EQ(sent_to(first, boot).size(), 1u);
  EXPECT_EQ(*state.next_deadline(), 3'000'000u);  // doubled
  (void)state.handle_message(boot, Neighbor{Priority::High, std::nullopt}, 2'000'000);
  auto later = state.handle_timeout(3'000'000);
  EXPECT_TRUE(sent_to(later, boot).empty());
}

// PlumTree takes the sender of a Prune, a duplicate, a Graft or an announced message as a
// neighbour. A peer outside the active view (one we dropped whose messages were in flight) must
// not become one that way: the eager and lazy sets follow the active view. Its gossip still
// counts.
TEST(HyParView, BroadcastFromOutsideTheActiveViewIsDeliveredButMakesNoNeighbour) {
  TopicState state(kMe, std::nullopt, {}, 1);
  const PeerId gone = filled<PeerId>(2);
  (void)state.handle_message(gone, Join{}, 0);
  ASSERT_TRUE(state.eager_peers().contains(gone));
  (void)state.peer_disconnected(gone, 1);
  ASSERT_TRUE(state.active_view().empty());

  (void)state.handle_message(gone, Prune{}, 2);
  (void)state.handle_message(gone, Graft{std::nullopt, 0}, 3);
  const Bytes content{1, 2, 3};
  const Gossip gossip{MessageId::from_content(content), content, DeliveryScope::swarm(0)};
  EXPECT_EQ(only<Received>(state.handle_message(gone, gossip, 4)).size(), 1u);
  (void)state.handle_message(gone, gossip, 5);  // a duplicate
  const Bytes other{4, 5, 6};
  auto announced = state.handle_message(gone, IHave{{{MessageId::from_content(other), 1}}}, 6);
  EXPECT_TRUE(state.eager_peers().empty());
  EXPECT_TRUE(state.lazy_peers().empty());
  // The graft timer finds no one to ask.
  for (Micros now = 7; now < 10'000'000; now += 100'000) {
    for (const auto& message : sent_to(state.handle_timeout(now), gone)) {
      EXPECT_FALSE(std::holds_alternative<Graft>(message));
    }
  }
  EXPECT_TRUE(state.eager_peers().empty());
}

}  // namespace
}  // namespace p2panda::gossip

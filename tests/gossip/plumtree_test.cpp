// PlumTree rules on a single core: eager push, prune on duplicates, IHave/Graft repair, tree
// optimisation, spoofed ids, cache eviction.
#include <gtest/gtest.h>

#include "gossip/plumtree.hpp"
#include "message_samples.hpp"

namespace p2panda::gossip {
namespace {

using testing::filled;

const PeerId kMe = filled<PeerId>(1);
const PeerId kA = filled<PeerId>(2);
const PeerId kB = filled<PeerId>(3);

Gossip gossip(const std::string& text, std::uint16_t round) {
  Bytes content(text.begin(), text.end());
  return Gossip{MessageId::from_content(content), content, DeliveryScope::swarm(round)};
}

TEST(PlumTree, FirstCopyIsDeliveredAndForwardedDuplicatePrunes) {
  PlumTree tree(kMe, {}, 4063);
  Io io;
  tree.neighbor_up(kA, 0, io);
  tree.neighbor_up(kB, 0, io);
  io = {};
  tree.handle_message(kA, gossip("x", 0), 0, io);
  ASSERT_EQ(io.outputs.size(), 2u);
  const auto& forward = std::get<SendMessage>(io.outputs[0]);
  EXPECT_EQ(forward.to, kB);
  EXPECT_TRUE(forward.message == Message(gossip("x", 1)));  // one more hop
  EXPECT_EQ(std::get<Received>(io.outputs[1]).delivered_from, kA);
  io = {};
  tree.handle_message(kB, gossip("x", 3), 0, io);
  ASSERT_EQ(io.outputs.size(), 1u);
  EXPECT_TRUE(std::get<SendMessage>(io.outputs[0]).message == Message(Prune{}));
  EXPECT_TRUE(tree.lazy_peers().contains(kB));
}

TEST(PlumTree, SpoofedIdIsDropped) {
  PlumTree tree(kMe, {}, 4063);
  Io io;
  Gossip spoofed = gossip("x", 0);
  spoofed.content = Bytes{'y'};
  tree.handle_message(kA, spoofed, 0, io);
  for (const auto& output : io.outputs) EXPECT_FALSE(std::holds_alternative<Received>(output));
}

TEST(PlumTree, IHaveLeadsToGraftAfterTimeoutThenNextAnnouncer) {
  PlumTree tree(kMe, {}, 4063);
  Io io;
  const MessageId id = gossip("x", 0).id;
  tree.handle_message(kA, IHave{{{id, 2}}}, 0, io);
  tree.handle_message(kB, IHave{{{id, 3}}}, 0, io);
  ASSERT_EQ(io.timers.size(), 2u);  // eviction + one graft timer
  EXPECT_EQ(io.timers[1].first, 80'000u);
  io = {};
  tree.on_timer(SendGraft{id}, 80'000, io);
  ASSERT_EQ(io.outputs.size(), 1u);
  EXPECT_EQ(std::get<SendMessage>(io.outputs[0]).to, kA);
  EXPECT_TRUE(std::get<SendMessage>(io.outputs[0]).message == Message(Graft{id, 2}));
  EXPECT_EQ(io.timers[0].first, 40'000u);
  io = {};
  tree.on_timer(SendGraft{id}, 120'000, io);
  EXPECT_EQ(std::get<SendMessage>(io.outputs[0]).to, kB);
}

TEST(PlumTree, GraftIsAnsweredFromCache) {
  PlumTree tree(kMe, {}, 4063);
  Io io;
  tree.broadcast(Bytes{'z'}, Scope::Swarm, 0, io);
  io = {};
  const MessageId id = MessageId::from_content(Bytes{'z'});
  tree.handle_message(kA, Graft{id, 0}, 10, io);
  ASSERT_EQ(io.outputs.size(), 1u);
  EXPECT_EQ(message_name(std::get<SendMessage>(io.outputs[0]).message), "Gossip");
  EXPECT_TRUE(tree.eager_peers().contains(kA));
}

// iroh-gossip's optimize_tree case: an IHave at round 2, the payload at round 9 (>= 7 later).
TEST(PlumTree, OptimisesTreeWhenLazyPathIsMuchShorter) {
  PlumTree tree(kMe, {}, 4063);
  Io io;
  const Gossip late = gossip("hi2", 9);
  tree.handle_message(kA, IHave{{{late.id, 2}}}, 0, io);
  io = {};
  tree.handle_message(kB, late, 0, io);
  ASSERT_GE(io.outputs.size(), 3u);
  EXPECT_TRUE(std::get<SendMessage>(io.outputs[0]).message == Message(Graft{std::nullopt, 2}));
  EXPECT_EQ(std::get<SendMessage>(io.outputs[0]).to, kA);
  EXPECT_TRUE(std::get<SendMessage>(io.outputs[1]).message == Message(Prune{}));
  EXPECT_EQ(std::get<SendMessage>(io.outputs[1]).to, kB);
}

TEST(PlumTree, LazyPeersGetBatchedIHaves) {
  PlumTree tree(kMe, {}, 4063);
  Io io;
  tree.neighbor_up(kA, 0, io);
  tree.handle_message(kA, Prune{}, 0, io);
  io = {};
  tree.broadcast(Bytes{'1'}, Scope::Swarm, 0, io);
  tree.broadcast(Bytes{'2'}, Scope::Swarm, 1, io);
  EXPECT_TRUE(io.outputs.empty());
  io = {};
  tree.on_timer(DispatchLazyPush{}, 5'000, io);
  ASSERT_EQ(io.outputs.size(), 1u);
  const auto& ihave = std::get<IHave>(std::get<SendMessage>(io.outputs[0]).message);
  EXPECT_EQ(ihave.entries.size(), 2u);
}

TEST(PlumTree, CacheIsEvictedAfterRetention) {
  PlumTree tree(kMe, {}, 4063);
  Io io;
  tree.handle_message(kA, gossip("x", 1), 0, io);
  EXPECT_EQ(tree.cache_size(), 1u);
  tree.on_timer(EvictCache{}, 1'000'000, io);
  EXPECT_EQ(tree.cache_size(), 1u);
  tree.on_timer(EvictCache{}, 31'000'000, io);
  EXPECT_EQ(tree.cache_size(), 0u);
}

}  // namespace
}  // namespace p2panda::gossip

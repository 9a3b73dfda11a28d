// The Consumer's bound on what it holds in memory (max_queued): a long replay, and live offers a
// reader has not taken yet, wait in the store and are read back a page at a time, in order,
// each delivered once, none lost.
#include "stream/consumer.hpp"

#include <algorithm>
#include <map>

#include "../store/store_fixture.hpp"
#include "store/sqlite.hpp"
#include "stream/ingest.hpp"

namespace p2panda::stream {
namespace {

using test::ids;
using test::LogWriter;
using test::TempDir;

constexpr std::size_t kBound = 8;

class ConsumerBacklogTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = test::open_store(dir_.file("db.sqlite")); }

  Operation store(const Operation& operation) {
    auto result = store_->transact([&](store::StoreWriter& tx) {
      return check_and_ingest(tx, operation, topic_, {});
    });
    EXPECT_TRUE(result.has_value());
    return operation;
  }
  Operation publish(LogWriter& writer) { return store(writer.next()); }

  // Takes every delivery, checking after each that the queue stayed within the bound.
  std::vector<Operation> drain(Consumer& consumer) {
    std::vector<Operation> out;
    while (true) {
      auto next = consumer.next_delivery(0);
      EXPECT_TRUE(next.has_value()) << next.error().to_string();
      if (!next.has_value() || !next->has_value()) break;
      EXPECT_LE(consumer.pending(), kBound);
      out.push_back(std::move((*next)->operation));
    }
    return out;
  }

  ConsumerConfig bounded(bool causal = false) {
    return {.ack_policy = AckPolicy::Explicit, .causal = causal, .max_queued = kBound};
  }

  TempDir dir_;
  Topic topic_ = Topic::random();
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(ConsumerBacklogTest, ALongReplayIsReadAPageAtATime) {
  LogWriter alice(PrivateKey::generate(), topic_);
  LogWriter bob(PrivateKey::generate(), topic_);
  std::vector<Operation> alices, bobs;
  for (int i = 0; i < 30; ++i) {
    alices.push_back(publish(alice));
    bobs.push_back(publish(bob));
  }
  Consumer consumer(*store_, topic_, bounded());
  auto replayed = consumer.start(FromStart{}, 0);
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 60u);
  EXPECT_LE(consumer.pending(), kBound);
  EXPECT_TRUE(consumer.backlogged());
  EXPECT_FALSE(consumer.replay_done());
  auto delivered = drain(consumer);
  ASSERT_EQ(delivered.size(), 60u);
  EXPECT_TRUE(consumer.replay_done());
  EXPECT_FALSE(consumer.backlogged());
  // Log order within each log, each operation once.
  std::vector<Operation> of_alice, of_bob;
  for (auto& operation : delivered) {
    (operation.author() == alice.author() ? of_alice : of_bob).push_back(operation);
  }
  EXPECT_EQ(ids(of_alice), ids(alices));
  EXPECT_EQ(ids(of_bob), ids(bobs));
}

TEST_F(ConsumerBacklogTest, LiveOffersPastTheBoundWaitInTheStore) {
  LogWriter alice(PrivateKey::generate(), topic_);
  LogWriter bob(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_, bounded());
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  std::vector<Operation> alices, bobs;
  for (int i = 0; i < 25; ++i) {
    ASSERT_OK(consumer.offer(alices.emplace_back(publish(alice)), 0));
    ASSERT_OK(consumer.offer(bobs.emplace_back(publish(bob)), 0));
    ASSERT_LE(consumer.pending(), kBound);
  }
  EXPECT_TRUE(consumer.backlogged());
  auto delivered = drain(consumer);
  ASSERT_EQ(delivered.size(), 50u);
  std::vector<Operation> of_alice, of_bob;
  for (auto& operation : delivered) {
    (operation.author() == alice.author() ? of_alice : of_bob).push_back(operation);
  }
  EXPECT_EQ(ids(of_alice), ids(alices));
  EXPECT_EQ(ids(of_bob), ids(bobs));
  // Offers after the backlog drained go straight to the queue again.
  ASSERT_OK(consumer.offer(publish(alice), 0));
  EXPECT_FALSE(consumer.backlogged());
  EXPECT_EQ(consumer.pending(), 1u);
}

// Where an operation came from goes out with it, also when it waited in the store (a backlog
// range holds one source's operations) and when it is delivered again after a nak or the ack
// wait. Nothing is kept per operation for it outside the bounded queue.
TEST_F(ConsumerBacklogTest, WhereAnOperationCameFromSurvivesTheStoreAndRedelivery) {
  LogWriter alice(PrivateKey::generate(), topic_);
  const NodeId remote = PrivateKey::generate().public_key();
  const Source sources[] = {FromSyncSession{remote, 1, SessionPhase::Sync},
                            FromSyncSession{remote, 1, SessionPhase::Live}, FromLocalStore{},
                            FromImport{7}};
  ConsumerConfig config = bounded();
  config.ack_wait = 1'000;
  Consumer consumer(*store_, topic_, config);
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  std::map<Hash, Source> offered;
  for (int i = 0; i < 32; ++i) {
    const Source& source = sources[(i / 6) % 4];  // runs of six, then the next source
    const Operation operation = publish(alice);
    offered.emplace(operation.id(), source);
    ASSERT_OK(consumer.offer(operation, 0, source));
  }
  EXPECT_TRUE(consumer.backlogged());
  std::optional<Hash> timed_out;
  std::size_t delivered = 0;
  while (true) {
    auto next = consumer.next_delivery(0);
    ASSERT_OK(next);
    if (!next->has_value()) break;
    const Delivery& delivery = **next;
    ++delivered;
    EXPECT_EQ(delivery.source, offered.at(delivery.operation.id()))
        << "seq " << delivery.operation.seq_num().value();
    // The last one stays unacked (an ack of seq n acks the log below n too).
    if (delivery.operation.seq_num().value() == 31) timed_out = delivery.operation.id();
    if (delivery.operation.id() != timed_out) ASSERT_OK(consumer.ack(delivery.operation.id()));
  }
  EXPECT_EQ(delivered, 32u);
  ASSERT_TRUE(timed_out.has_value());

  // The ack wait ran out for seq 31 (offered from the live phase of the session).
  consumer.handle_timeout(2'000);
  auto redelivered = consumer.next_delivery(2'000);
  ASSERT_OK(redelivered);
  ASSERT_TRUE(redelivered->has_value());
  EXPECT_EQ((*redelivered)->operation.id(), *timed_out);
  EXPECT_EQ((*redelivered)->attempt, 2u);
  EXPECT_EQ((*redelivered)->source, offered.at(*timed_out));
  ASSERT_OK(consumer.ack(*timed_out));

  // A nak: delivered again at once, with its source.
  const Operation again = publish(alice);
  ASSERT_OK(consumer.offer(again, 0, sources[3]));
  auto first = consumer.next_delivery(0);
  ASSERT_OK(first);
  ASSERT_TRUE(first->has_value());
  consumer.nak(again.id());
  auto renewed = consumer.next_delivery(0);
  ASSERT_OK(renewed);
  ASSERT_TRUE(renewed->has_value());
  EXPECT_EQ((*renewed)->attempt, 2u);
  EXPECT_EQ((*renewed)->source, sources[3]);
  ASSERT_OK(consumer.ack(again.id()));
}

// On a causal topic redeliveries are put in causal order as a batch; each keeps its source.
// A replay comes from the store: FromLocalStore.
TEST_F(ConsumerBacklogTest, CausalRedeliveriesKeepTheirSourcesAndReplaysAreLocal) {
  LogWriter alice(PrivateKey::generate(), topic_);
  LogWriter bob(PrivateKey::generate(), topic_);
  const Operation replayed = publish(alice);
  ConsumerConfig config = bounded(/*causal=*/true);
  config.ack_wait = 1'000;
  Consumer consumer(*store_, topic_, config);
  ASSERT_OK(consumer.start(FromStart{}, 0));
  const Source from_session = FromSyncSession{PrivateKey::generate().public_key(), 4,
                                              SessionPhase::Live};
  const Source from_import = FromImport{9};
  const Operation second = publish(alice), third = publish(bob);
  ASSERT_OK(consumer.offer(second, 0, from_session));
  ASSERT_OK(consumer.offer(third, 0, from_import));
  std::map<Hash, Source> expected = {
      {replayed.id(), FromLocalStore{}}, {second.id(), from_session}, {third.id(), from_import}};
  for (Micros now : {Micros{0}, Micros{2'000}}) {
    if (now > 0) consumer.handle_timeout(now);  // none acked: all three come again
    std::size_t seen = 0;
    while (true) {
      auto next = consumer.next_delivery(now);
      ASSERT_OK(next);
      if (!next->has_value()) break;
      ++seen;
      EXPECT_EQ((*next)->attempt, now > 0 ? 2u : 1u);
      EXPECT_EQ((*next)->source, expected.at((*next)->operation.id()));
    }
    EXPECT_EQ(seen, 3u);
  }
}

// On a causal topic the order of arrival is the order of delivery, across logs too: a log's
// later offer never joins its earlier entry ahead of another log's offer that came between.
TEST_F(ConsumerBacklogTest, ACausalTopicsBacklogKeepsTheOrderOfArrival) {
  LogWriter alice(PrivateKey::generate(), topic_);
  LogWriter bob(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_, bounded(/*causal=*/true));
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  std::vector<Operation> offered;
  for (int i = 0; i < 12; ++i) {
    ASSERT_OK(consumer.offer(offered.emplace_back(publish(alice)), 0));
    ASSERT_OK(consumer.offer(offered.emplace_back(publish(bob)), 0));
  }
  EXPECT_EQ(ids(drain(consumer)), ids(offered));
}

// What a prune deleted while it waited in the store is not delivered, and the replay still ends.
TEST_F(ConsumerBacklogTest, AReplayEndsWhenWhatWasLeftOfItWasPruned) {
  LogWriter alice(PrivateKey::generate(), topic_);
  for (int i = 0; i < 20; ++i) publish(alice);
  Consumer consumer(*store_, topic_, bounded());
  auto replayed = consumer.start(FromStart{}, 0);
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 20u);
  // Take the first page, then a prune at seq 20 deletes everything before it.
  std::vector<Operation> before;
  for (std::size_t i = 0; i < 3; ++i) {
    auto next = consumer.next_delivery(0);
    ASSERT_TRUE(next && *next);
    before.push_back((*next)->operation);
  }
  const Operation prune = store(alice.next(Body(Bytes{9}), /*prune=*/true));
  ASSERT_OK(consumer.offer(prune, 0));
  auto rest = drain(consumer);
  // What was in memory already goes out; what waited in the store was deleted; the prune itself
  // is delivered, and nothing twice.
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().id(), prune.id());
  EXPECT_LE(before.size() + rest.size(), 21u);
  EXPECT_LT(rest.size() + before.size(), 21u);  // some of the replay was never read: pruned
  EXPECT_TRUE(consumer.replay_done());
}

// A failed page read moves nothing: once the store answers again, everything still comes.
TEST_F(ConsumerBacklogTest, NothingIsLostWhenAPageCannotBeRead) {
  LogWriter alice(PrivateKey::generate(), topic_);
  std::vector<Operation> published;
  for (int i = 0; i < 20; ++i) published.push_back(publish(alice));
  test::FlakyStore flaky(*store_);
  Consumer consumer(flaky, topic_, bounded());
  ASSERT_OK(consumer.start(FromStart{}, 0));
  std::vector<Operation> delivered;
  for (std::size_t i = 0; i < kBound / 2; ++i) {
    auto next = consumer.next_delivery(0);
    ASSERT_TRUE(next && *next);
    delivered.push_back((*next)->operation);
  }
  // The queue is half empty now: the next delivery reads a page, and that read fails. What is in
  // memory still goes out; the error comes once nothing else can.
  flaky.fail_reads = true;
  while (true) {
    auto next = consumer.next_delivery(0);
    if (!next) break;
    ASSERT_TRUE(*next) << "the queue ran dry without the failed read being reported";
    delivered.push_back((*next)->operation);
  }
  EXPECT_EQ(delivered.size(), kBound);
  flaky.fail_reads = false;
  for (auto& operation : drain(consumer)) delivered.push_back(std::move(operation));
  EXPECT_EQ(ids(delivered), ids(published));
}

// An operation held back on another topic leaves this topic's replay read a page at a time.
TEST_F(ConsumerBacklogTest, WhatIsHeldBackElsewhereDoesNotTurnTheBoundOff) {
  const Topic other = Topic::random();
  LogWriter waiting(PrivateKey::generate(), other);
  const Operation held = waiting.next(Body(Bytes{1}), false, std::vector<Hash>{Hash::digest(Bytes{7})});
  auto stored = store_->transact([&](store::StoreWriter& tx) {
    return check_and_ingest(tx, held, other, {.causal = true});
  });
  ASSERT_OK(stored);
  ASSERT_TRUE(std::holds_alternative<Pending>(stored->outcome));
  LogWriter alice(PrivateKey::generate(), topic_);
  for (int i = 0; i < 30; ++i) publish(alice);
  Consumer consumer(*store_, topic_, bounded());
  auto replayed = consumer.start(FromStart{}, 0);
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 30u);
  EXPECT_LE(consumer.pending(), kBound);
  EXPECT_EQ(drain(consumer).size(), 30u);
}

}  // namespace
}  // namespace p2panda::stream

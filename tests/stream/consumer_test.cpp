#include "stream/consumer.hpp"

#include "../store/store_fixture.hpp"
#include "stream/ingest.hpp"

namespace p2panda::stream {
namespace {

using test::LogWriter;
using test::TempDir;

class ConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = test::open_store(dir_.file("db.sqlite")); }

  Operation publish(LogWriter& writer, std::optional<Body> body = Body(Bytes{1})) {
    Operation operation = writer.next(std::move(body));
    auto result = store_->transact([&](store::StoreWriter& tx) {
      return check_and_ingest(tx, operation, topic_, {});
    });
    EXPECT_TRUE(result.has_value());
    return operation;
  }

  std::vector<Delivery> drain(Consumer& consumer, Micros now = 0) {
    std::vector<Delivery> out;
    while (true) {
      auto next = consumer.next_delivery(now);
      EXPECT_TRUE(next.has_value()) << next.error().to_string();
      if (!next.has_value() || !next->has_value()) break;
      out.push_back(std::move(**next));
    }
    return out;
  }

  std::vector<SeqNum> seqs(const std::vector<Delivery>& deliveries) {
    std::vector<SeqNum> out;
    for (const auto& delivery : deliveries) out.push_back(delivery.operation.seq_num());
    return out;
  }

  TempDir dir_;
  Topic topic_ = Topic::random();
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(ConsumerTest, AutomaticAcksMeanNoReplayAfterRestart) {
  LogWriter alice(PrivateKey::generate(), topic_);
  {
    Consumer consumer(*store_, topic_);
    ASSERT_OK(consumer.start(FromFrontier{}, 0));
    for (int i = 0; i < 3; ++i) ASSERT_OK(consumer.offer(publish(alice), 0));
    EXPECT_EQ(drain(consumer).size(), 3u);
  }
  Consumer again(*store_, topic_);
  auto replayed = again.start(FromFrontier{}, 0);
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 0u);
}

TEST_F(ConsumerTest, ExplicitAcksReplayEverythingUnackedAndNothingAcked) {
  LogWriter alice(PrivateKey::generate(), topic_);
  std::vector<Operation> operations;
  {
    Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit});
    ASSERT_OK(consumer.start(FromFrontier{}, 0));
    for (int i = 0; i < 4; ++i) ASSERT_OK(consumer.offer(operations.emplace_back(publish(alice)), 0));
    ASSERT_EQ(drain(consumer).size(), 4u);
    ASSERT_OK(consumer.ack(operations[1].id()));  // acks seq 0 and 1
  }
  Consumer again(*store_, topic_, {.ack_policy = AckPolicy::Explicit});
  auto replayed = again.start(FromFrontier{}, 0);
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 2u);
  EXPECT_EQ(seqs(drain(again)), (std::vector<SeqNum>{SeqNum(2), SeqNum(3)}));
}

TEST_F(ConsumerTest, RedeliversAfterAckWaitAndGivesUpAtMaxDeliver) {
  LogWriter alice(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_,
                    {.ack_policy = AckPolicy::Explicit, .ack_wait = 1'000, .max_deliver = 2});
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  const Operation first = publish(alice);
  ASSERT_OK(consumer.offer(first, 0));
  auto delivered = drain(consumer, 0);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].attempt, 1u);
  EXPECT_EQ(consumer.next_deadline(), std::optional<Micros>(1'000));
  consumer.handle_timeout(999);
  EXPECT_TRUE(drain(consumer, 999).empty());
  consumer.handle_timeout(1'000);
  delivered = drain(consumer, 1'000);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].attempt, 2u);
  consumer.handle_timeout(2'000);
  EXPECT_TRUE(drain(consumer, 2'000).empty());
  auto exhausted = consumer.exhausted();
  ASSERT_EQ(exhausted.size(), 1u);
  EXPECT_EQ(exhausted[0].id(), first.id());
}

// The causal orderer can release an entry after later entries of its log were acked (it was held
// back in an earlier session). Acking it then changes no cursor, but must end its redeliveries,
// whichever way it is acked.
TEST_F(ConsumerTest, AckingAnOperationTheCursorCoversAlreadyEndsItsRedelivery) {
  LogWriter alice(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit, .ack_wait = 1'000});
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  const Operation first = publish(alice), second = publish(alice);
  ASSERT_OK(consumer.offer(second, 0));
  ASSERT_EQ(drain(consumer).size(), 1u);
  ASSERT_OK(consumer.ack(second.id()));  // the cursor now covers `first` too
  ASSERT_OK(consumer.offer(first, 0));   // released late
  ASSERT_EQ(drain(consumer).size(), 1u);
  EXPECT_EQ(consumer.in_flight(), 1u);
  ASSERT_OK(consumer.ack(first.id()));
  EXPECT_EQ(consumer.in_flight(), 0u);
  consumer.handle_timeout(5'000);
  EXPECT_TRUE(drain(consumer, 5'000).empty()) << "redelivered after its ack";

  ASSERT_OK(consumer.offer(first, 0));  // the two-step ack, as TopicStream does it
  ASSERT_EQ(drain(consumer).size(), 1u);
  EXPECT_FALSE(consumer.begin_ack(first.id()));
  EXPECT_EQ(consumer.in_flight(), 0u);
}

// Redeliveries after the ack wait keep causal order on a causal topic: b0 depends on a1, so it
// comes after it although its seq is lower.
TEST_F(ConsumerTest, RedeliveriesKeepCausalOrder) {
  LogWriter alice(PrivateKey::generate(), topic_);
  LogWriter bob(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_,
                    {.ack_policy = AckPolicy::Explicit, .ack_wait = 1'000, .causal = true});
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  const Operation a0 = publish(alice), a1 = publish(alice);
  const Operation b0 = bob.next(Body(Bytes{2}), false, std::vector<Hash>{a1.id()});
  for (const Operation* operation : {&a0, &a1, &b0}) ASSERT_OK(consumer.offer(*operation, 0));
  ASSERT_EQ(drain(consumer).size(), 3u);
  consumer.handle_timeout(1'000);
  auto again = drain(consumer, 1'000);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].operation.id(), a0.id());
  EXPECT_EQ(again[1].operation.id(), a1.id());
  EXPECT_EQ(again[2].operation.id(), b0.id());
  EXPECT_EQ(again[2].attempt, 2u);
}

TEST_F(ConsumerTest, NakRedeliversAtOnceAndFlowControlCapsInFlight) {
  LogWriter alice(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit, .max_ack_pending = 2});
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  std::vector<Operation> operations;
  for (int i = 0; i < 5; ++i) ASSERT_OK(consumer.offer(operations.emplace_back(publish(alice)), 0));
  auto first = drain(consumer);
  EXPECT_EQ(seqs(first), (std::vector<SeqNum>{SeqNum(0), SeqNum(1)}));  // capped at 2
  consumer.nak(operations[1].id());
  auto again = drain(consumer);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].operation.seq_num(), SeqNum(1));
  EXPECT_EQ(again[0].attempt, 2u);
  ASSERT_OK(consumer.ack(operations[1].id()));  // frees both slots (seq 0 acked too)
  EXPECT_EQ(seqs(drain(consumer)), (std::vector<SeqNum>{SeqNum(2), SeqNum(3)}));
}

// An ack that comes after the ack wait queued a redelivery, before the redelivery went out: the
// redelivery is dropped. Before, it went out anyway, and an application that deduplicates by id
// without acking again got it every ack_wait, for ever.
TEST_F(ConsumerTest, ARedeliveryAckedBeforeItGoesOutIsDropped) {
  LogWriter alice(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit, .ack_wait = 1000});
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  const Operation operation = publish(alice);
  ASSERT_OK(consumer.offer(operation, 0));
  ASSERT_EQ(drain(consumer).size(), 1u);
  consumer.handle_timeout(2000);  // queued again
  ASSERT_OK(consumer.ack(operation.id()));
  EXPECT_TRUE(drain(consumer).empty());
  EXPECT_EQ(consumer.in_flight(), 0u);
}

TEST_F(ConsumerTest, SystemOperationsAreAckedAndNeverDelivered) {
  LogWriter alice(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit});
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  const Operation first = publish(alice);
  ASSERT_OK(consumer.offer(first, 0));
  const Operation system = publish(alice, std::nullopt);
  ASSERT_OK(consumer.offer(system, 0));
  // Acking seq 1 would ack seq 0, which the application has not acked (nor even taken): before,
  // a crash now lost it.
  EXPECT_FALSE(consumer.cursor().is_acked(alice.author(), alice.log(), SeqNum(0)));
  auto delivered = drain(consumer);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_FALSE(consumer.cursor().is_acked(alice.author(), alice.log(), SeqNum(0)));
  ASSERT_OK(consumer.ack(first.id()));
  EXPECT_TRUE(consumer.cursor().is_acked(alice.author(), alice.log(), SeqNum(1)));
  // With nothing before it unacked, the next one is acked at once, by the two-step ack too.
  ASSERT_OK(consumer.offer(publish(alice), 0));
  ASSERT_OK(consumer.offer(publish(alice, std::nullopt), 0));
  delivered = drain(consumer);
  ASSERT_EQ(delivered.size(), 1u);
  auto pending = consumer.begin_ack(delivered[0].operation.id());
  ASSERT_TRUE(pending.has_value());
  consumer.end_ack(*pending, true);
  EXPECT_TRUE(consumer.cursor().is_acked(alice.author(), alice.log(), SeqNum(3)));
}

// One without a body read by a replay (stored before a restart, never acked) is acked like a
// live one, so that the next one without a body does not wait behind it for good.
TEST_F(ConsumerTest, SystemOperationsInAReplayAreAckedToo) {
  LogWriter alice(PrivateKey::generate(), topic_);
  const Operation first = publish(alice);
  {
    Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit});
    ASSERT_OK(consumer.start(FromFrontier{}, 0));  // replays it
    ASSERT_EQ(drain(consumer).size(), 1u);
    ASSERT_OK(consumer.ack(first.id()));
  }
  publish(alice, std::nullopt);  // stored while no consumer ran
  for (const bool paged : {true, false}) {
    Consumer consumer(*store_, topic_,
                      {.ack_policy = AckPolicy::Explicit, .causal = !paged});  // both replay paths
    ASSERT_OK(consumer.start(FromFrontier{}, 0));
    EXPECT_TRUE(drain(consumer).empty());
    EXPECT_TRUE(consumer.cursor().is_acked(alice.author(), alice.log(), SeqNum(1))) << paged;
  }
  Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit});
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  ASSERT_OK(consumer.offer(publish(alice, std::nullopt), 0));
  EXPECT_TRUE(consumer.cursor().is_acked(alice.author(), alice.log(), SeqNum(2)));
}

TEST_F(ConsumerTest, StartCursorAndNamedCursorsAndTimestamps) {
  LogWriter alice(PrivateKey::generate(), topic_), bob(PrivateKey::generate(), topic_);
  for (int i = 0; i < 3; ++i) publish(alice);
  for (int i = 0; i < 2; ++i) publish(bob);
  {
    Consumer main(*store_, topic_);
    auto all = main.start(FromFrontier{}, 0);
    ASSERT_OK(all);
    EXPECT_EQ(*all, 5u);  // nothing acked yet: everything replays
    EXPECT_EQ(drain(main).size(), 5u);
  }
  // A replay under another cursor name does not clobber the main cursor (p2panda #1407).
  Consumer replay(*store_, topic_, {.cursor_name = "audit"});
  auto from_start = replay.start(FromStart{}, 0);
  ASSERT_OK(from_start);
  EXPECT_EQ(*from_start, 5u);
  Consumer main_again(*store_, topic_);
  auto nothing = main_again.start(FromFrontier{}, 0);
  ASSERT_OK(nothing);
  EXPECT_EQ(*nothing, 0u);

  // From a given cursor: alice's seq 0 acked, bob untouched.
  Cursor position("custom");
  position.advance(alice.author(), alice.log(), SeqNum(0));
  Consumer from_cursor(*store_, topic_, {.cursor_name = "custom"});
  auto partial = from_cursor.start(FromCursor{position}, 0);
  ASSERT_OK(partial);
  EXPECT_EQ(*partial, 4u);

  // From a time: LogWriter stamps seq n at 1.7e15 + n.
  Consumer recent(*store_, topic_, {.cursor_name = "recent"});
  auto since = recent.start(FromTimestamp{Timestamp(1'700'000'000'000'002ULL)}, 0);
  ASSERT_OK(since);
  EXPECT_EQ(*since, 1u);  // only alice's seq 2
}

TEST_F(ConsumerTest, AckOfAnotherTopicsOperationIsRefused) {
  LogWriter alice(PrivateKey::generate(), topic_);
  const Operation mine = publish(alice);
  const Topic other = Topic::random();
  Consumer consumer(*store_, other);
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  EXPECT_ERRC(consumer.ack(mine.id()), LogIdMismatch);
  ASSERT_OK(consumer.ack(Hash::digest(as_bytes("unknown"))));  // unknown ids: ignored
}

}  // namespace
}  // namespace p2panda::stream

namespace p2panda::stream {
namespace {

// The two-step ack (begin_ack, then end_ack once the cursor write finished), which the node uses
// for automatic acks so that it awaits the write instead of blocking on it.
class TwoStepAckTest : public ::testing::Test {
 protected:
  Operation publish(LogWriter& writer) {
    Operation operation = writer.next(Body(Bytes{1}));
    auto result = store_->transact([&](store::StoreWriter& tx) {
      return check_and_ingest(tx, operation, topic_, {});
    });
    EXPECT_TRUE(result.has_value());
    return operation;
  }
  Result<std::size_t> replay_count() {
    Consumer again(*store_, topic_, explicit_config());
    return again.start(FromFrontier{}, 0);
  }
  Result<void> save(const Cursor& cursor) {
    return store_->write([&](store::StoreWriter& tx) { return tx.set_cursor(cursor); });
  }
  static ConsumerConfig explicit_config() {
    ConsumerConfig config;
    config.ack_policy = AckPolicy::Explicit;
    return config;
  }

  test::TempDir dir_;
  Topic topic_ = Topic::random();
  std::unique_ptr<store::SqliteStore> store_ = test::open_store(dir_.file("db.sqlite"));
};

TEST_F(TwoStepAckTest, CountsOnlyOnceSavedAndALaterAckNeverTakesItBack) {
  LogWriter alice(PrivateKey::generate(), topic_);
  LogWriter bob(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_, explicit_config());
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  const Operation a0 = publish(alice), b0 = publish(bob);
  ASSERT_OK(consumer.offer(a0, 0));
  ASSERT_OK(consumer.offer(b0, 0));
  ASSERT_TRUE(*consumer.next_delivery(0));
  ASSERT_TRUE(*consumer.next_delivery(0));
  EXPECT_EQ(consumer.in_flight(), 2u);

  auto pending = consumer.begin_ack(a0.id());
  ASSERT_TRUE(pending);
  EXPECT_EQ(consumer.in_flight(), 2u);  // not acked until saved
  // The writer saves the begun cursor (its jobs run in order), but the node thread has not
  // heard yet. Meanwhile a blocking ack of bob's operation writes after it: its cursor must
  // include alice's begun ack, or it would take that ack back in the store.
  ASSERT_OK(save(pending->cursor));
  ASSERT_OK(consumer.ack(b0.id()));
  consumer.end_ack(*pending, true);
  EXPECT_EQ(consumer.in_flight(), 0u);
  auto replayed = replay_count();
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 0u);
}

TEST_F(TwoStepAckTest, AFailedWriteLeavesTheOperationUnacked) {
  LogWriter alice(PrivateKey::generate(), topic_);
  Consumer consumer(*store_, topic_, explicit_config());
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  const Operation a0 = publish(alice);
  ASSERT_OK(consumer.offer(a0, 0));
  ASSERT_TRUE(*consumer.next_delivery(0));
  auto pending = consumer.begin_ack(a0.id());
  ASSERT_TRUE(pending);
  consumer.end_ack(*pending, false);  // the write failed
  EXPECT_EQ(consumer.in_flight(), 1u);
  auto replayed = replay_count();
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 1u);
  // A retry begins again and, saved, counts.
  auto retry = consumer.begin_ack(a0.id());
  ASSERT_TRUE(retry);
  ASSERT_OK(save(retry->cursor));
  consumer.end_ack(*retry, true);
  EXPECT_EQ(consumer.in_flight(), 0u);
  EXPECT_FALSE(consumer.begin_ack(a0.id()));  // nothing left to ack
  auto after = replay_count();
  ASSERT_OK(after);
  EXPECT_EQ(*after, 0u);
}

}  // namespace
}  // namespace p2panda::stream

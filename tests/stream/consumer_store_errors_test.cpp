// The Consumer when a cursor write fails (disk full, I/O error): the ack must not count as done,
// in memory or on disk, so that the operation is neither lost nor reported acked. A store wrapper
// (test::FlakyStore) fails blocking writes on demand; everything else reaches a real SQLite store.
#include "../store/store_fixture.hpp"
#include "stream/consumer.hpp"
#include "stream/ingest.hpp"

namespace p2panda::stream {
namespace {

using test::LogWriter;
using test::TempDir;

class ConsumerStoreErrors : public ::testing::Test {
 protected:
  void SetUp() override { store_ = test::open_store(dir_.file("db.sqlite")); }

  Operation publish(LogWriter& writer) {
    Operation operation = writer.next();
    auto result = store_->transact(
        [&](store::StoreWriter& tx) { return check_and_ingest(tx, operation, topic_, {}); });
    EXPECT_TRUE(result.has_value());
    return operation;
  }

  // What a consumer started now from the saved cursor would replay.
  std::size_t replayed_after_restart() {
    Consumer fresh(*store_, topic_);
    auto queued = fresh.start(FromFrontier{}, 0);
    EXPECT_TRUE(queued.has_value());
    return queued ? *queued : 0;
  }

  TempDir dir_;
  Topic topic_ = Topic::random();
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(ConsumerStoreErrors, AutomaticAckThatFailsKeepsTheOperationForTheNextDelivery) {
  LogWriter alice(PrivateKey::generate(), topic_);
  test::FlakyStore flaky(*store_);
  Consumer consumer(flaky, topic_);
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  const Operation first = publish(alice);
  ASSERT_OK(consumer.offer(first, 0));

  flaky.fail_writes = true;
  auto failed = consumer.next_delivery(0);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code(), Errc::StoreIo);

  flaky.fail_writes = false;
  auto next = consumer.next_delivery(0);
  ASSERT_OK(next);
  ASSERT_TRUE(next->has_value()) << "the operation whose ack failed was dropped";
  EXPECT_EQ((*next)->operation.id(), first.id());
  EXPECT_EQ(replayed_after_restart(), 0u);  // acked and persisted this time
}

TEST_F(ConsumerStoreErrors, ExplicitAckThatFailsLeavesTheOperationUnackedAndCanBeRetried) {
  LogWriter alice(PrivateKey::generate(), topic_);
  test::FlakyStore flaky(*store_);
  Consumer consumer(flaky, topic_, {.ack_policy = AckPolicy::Explicit, .ack_wait = 100});
  ASSERT_OK(consumer.start(FromFrontier{}, 0));
  const Operation first = publish(alice);
  ASSERT_OK(consumer.offer(first, 0));
  auto delivered = consumer.next_delivery(0);
  ASSERT_OK(delivered);
  ASSERT_TRUE(delivered->has_value());

  flaky.fail_writes = true;
  auto acked = consumer.ack(first.id());
  ASSERT_FALSE(acked.has_value());
  EXPECT_EQ(acked.error().code(), Errc::StoreIo);
  flaky.fail_writes = false;
  // Not acked: still in flight, so the ack wait redelivers it.
  EXPECT_EQ(consumer.in_flight(), 1u);
  consumer.handle_timeout(100);
  auto again = consumer.next_delivery(100);
  ASSERT_OK(again);
  ASSERT_TRUE(again->has_value()) << "an ack that failed still counted: no redelivery";
  EXPECT_EQ((*again)->attempt, 2u);

  // Retrying the ack persists it.
  ASSERT_OK(consumer.ack(first.id()));
  EXPECT_EQ(replayed_after_restart(), 0u) << "the retried ack was reported done but not saved";
}

}  // namespace
}  // namespace p2panda::stream

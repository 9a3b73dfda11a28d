#include <future>

#include "store_fixture.hpp"

namespace p2panda::store {
namespace {

using test::LogWriter;
using test::TempDir;

class StoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { store_ = test::open_store(GetParam() ? dir_.file("db.sqlite") : ":memory:"); }
  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

INSTANTIATE_TEST_SUITE_P(MemoryAndFile, StoreTest, ::testing::Bool());

TEST_P(StoreTest, InsertsAndReadsLogs) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> operations;
  for (int i = 0; i < 5; ++i) operations.push_back(writer.next());
  operations.push_back(writer.next(std::nullopt));  // no body
  ASSERT_OK(store_->write([&](StoreWriter& tx) -> Result<void> {
    for (const auto& operation : operations) {
      auto inserted = tx.insert_operation(operation, writer.log());
      if (!inserted) return Unexpected{inserted.error()};
      EXPECT_TRUE(*inserted);
    }
    auto again = tx.insert_operation(operations[0], writer.log());
    EXPECT_TRUE(again.has_value() && !*again);  // same id: ignored
    return tx.associate(writer.topic(), writer.author(), writer.log());
  }));

  auto result = store_->query([&](StoreReader& tx) -> Result<void> {
    auto latest = tx.latest_entry(writer.author(), writer.log());
    EXPECT_TRUE(latest.has_value() && latest->has_value());
    EXPECT_EQ((*latest)->id(), operations.back().id());
    EXPECT_FALSE((*latest)->body().has_value());

    auto stored = tx.get_operation(operations[2].id());
    EXPECT_TRUE(stored.has_value() && stored->has_value());
    EXPECT_EQ(**stored, operations[2]);

    auto entries = tx.log_entries(writer.author(), writer.log(), SeqNum(1), SeqNum(3));
    EXPECT_TRUE(entries.has_value());
    EXPECT_EQ(entries->size(), 2u);
    EXPECT_EQ((*entries)[0].seq_num(), SeqNum(2));

    auto all = tx.log_entries(writer.author(), writer.log(), std::nullopt, std::nullopt);
    EXPECT_EQ(all->size(), 6u);
    auto size = tx.log_size(writer.author(), writer.log(), std::nullopt, SeqNum(1));
    EXPECT_EQ(size->operations, 2u);
    EXPECT_EQ(size->bytes, operations[0].header_bytes().size() + 32 +
                               operations[1].header_bytes().size() + 32);

    const LogId logs[] = {writer.log(), LogId::from_topic(Topic::random())};
    auto heights = tx.log_heights(writer.author(), logs);
    EXPECT_EQ(heights->size(), 1u);
    EXPECT_EQ(heights->at(writer.log()), SeqNum(5));

    auto topic = tx.topic_heights(writer.topic());
    EXPECT_EQ((*topic)[writer.author()][writer.log()], SeqNum(5));
    auto resolved = tx.resolve_topic(writer.topic());
    EXPECT_EQ(resolved->at(writer.author()).size(), 1u);
    return {};
  });
  ASSERT_OK(result);
}

TEST_P(StoreTest, PrunesAndDeletesPayloads) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> operations;
  for (int i = 0; i < 4; ++i) operations.push_back(writer.next());
  auto pruned = store_->transact([&](StoreWriter& tx) -> Result<std::uint64_t> {
    for (const auto& operation : operations) (void)tx.insert_operation(operation, writer.log());
    (void)tx.delete_payload(operations[3].id());
    return tx.prune_entries(writer.author(), writer.log(), SeqNum(2));
  });
  ASSERT_OK(pruned);
  EXPECT_EQ(*pruned, 2u);
  auto state = store_->query([&](StoreReader& tx) -> Result<std::pair<std::size_t, bool>> {
    auto entries = tx.log_entries(writer.author(), writer.log(), std::nullopt, std::nullopt);
    auto last = tx.get_operation(operations[3].id());
    return std::make_pair(entries->size(), (*last)->body().has_value());
  });
  ASSERT_OK(state);
  EXPECT_EQ(state->first, 2u);
  EXPECT_FALSE(state->second);
}

TEST_P(StoreTest, RefusesASecondOperationAtTheSamePosition) {
  const PrivateKey key = PrivateKey::generate();
  const Topic topic = Topic::random();
  LogWriter a(key, topic), b(key, topic);
  const Operation first = a.next(Body(Bytes{1}));
  const Operation fork = b.next(Body(Bytes{2}));  // same author, log and seq, other id
  auto result = store_->write([&](StoreWriter& tx) -> Result<void> {
    (void)tx.insert_operation(first, a.log());
    auto forked = tx.insert_operation(fork, a.log());
    if (!forked) return Unexpected{forked.error()};
    return {};
  });
  EXPECT_FALSE(result.has_value());  // and the whole job rolled back
  auto stored = store_->query([&](StoreReader& tx) { return tx.has_operation(first.id()); });
  ASSERT_OK(stored);
  EXPECT_FALSE(*stored);
}

TEST_P(StoreTest, CursorsRoundTrip) {
  Cursor cursor("topic-a");
  cursor.advance(PrivateKey::generate().public_key(), LogId::from_topic(Topic{}), SeqNum(9));
  ASSERT_OK(store_->write([&](StoreWriter& tx) { return tx.set_cursor(cursor); }));
  cursor.advance(cursor.state().begin()->first, LogId::from_topic(Topic{}), SeqNum(10));
  ASSERT_OK(store_->write([&](StoreWriter& tx) { return tx.set_cursor(cursor); }));
  auto loaded = store_->query([](StoreReader& tx) { return tx.get_cursor("topic-a"); });
  ASSERT_OK(loaded);
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, cursor);
  ASSERT_OK(store_->write([](StoreWriter& tx) { return tx.delete_cursor("topic-a"); }));
  auto gone = store_->query([](StoreReader& tx) { return tx.get_cursor("topic-a"); });
  EXPECT_FALSE(gone->has_value());
}

TEST_P(StoreTest, AddressBook) {
  const NodeId a = PrivateKey::generate().public_key();
  const NodeId b = PrivateKey::generate().public_key();
  const Topic topic = Topic::random();
  ASSERT_OK(store_->write([&](StoreWriter& tx) -> Result<void> {
    (void)tx.upsert_node(a, Bytes{1, 2}, false, Timestamp(100));
    (void)tx.upsert_node(b, Bytes{3}, true, Timestamp(50));
    (void)tx.record_connection(a, true, Timestamp(110));
    (void)tx.record_connection(a, false, Timestamp(120));
    const Topic topics[] = {topic};
    return tx.set_node_topics(a, topics);
  }));
  auto nodes = store_->query([&](StoreReader& tx) { return tx.nodes_for_topic(topic); });
  ASSERT_OK(nodes);
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].node_id, a);
  EXPECT_EQ((*nodes)[0].successes, 1u);
  EXPECT_EQ((*nodes)[0].failures, 1u);
  EXPECT_EQ((*nodes)[0].last_failure, Timestamp(120));
  auto bootstrap = store_->query([](StoreReader& tx) { return tx.random_bootstrap_node(); });
  ASSERT_OK(bootstrap);
  EXPECT_EQ((*bootstrap)->node_id, b);
  auto removed = store_->transact(
      [](StoreWriter& tx) { return tx.remove_nodes_older_than(Timestamp(1000)); });
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 1u);  // a; the bootstrap node b stays
  auto all = store_->query([](StoreReader& tx) { return tx.all_nodes(); });
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].node_id, b);
}

TEST_P(StoreTest, GroupCommitSharesTransactionsAndIsolatesFailures) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> operations;
  for (int i = 0; i < 200; ++i) operations.push_back(writer.next());
  // Hold the writer on a gate job until every job is queued, so they share a batch whatever the
  // thread timing.
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  store_->submit([opened](StoreWriter&) -> Result<void> {
    opened.wait();
    return {};
  }, nullptr);
  const auto commits_before = store_->stats().commits;
  std::mutex mutex;
  std::condition_variable all_done;
  int done = 0, failed = 0;
  for (int i = 0; i < 200; ++i) {
    store_->submit(
        [&, i](StoreWriter& tx) -> Result<void> {
          auto inserted = tx.insert_operation(operations[i], writer.log());
          if (!inserted) return Unexpected{inserted.error()};
          if (i % 10 == 0) return fail(Errc::InvalidArgument, "this job fails on purpose");
          return {};
        },
        [&](Result<void> result) {
          std::lock_guard lock(mutex);
          ++done;
          if (!result) ++failed;
          all_done.notify_one();
        });
  }
  gate.set_value();
  std::unique_lock lock(mutex);
  ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(30), [&] { return done == 200; }));
  const auto commits = store_->stats().commits - commits_before;
  EXPECT_EQ(failed, 20);
  auto count = store_->query([&](StoreReader& tx) {
    return tx.log_size(writer.author(), writer.log(), std::nullopt, std::nullopt);
  });
  ASSERT_OK(count);
  EXPECT_EQ(count->operations, 180u);  // the failing jobs' inserts were rolled back
  // The gate's batch, then one batch for all 200 jobs.
  EXPECT_LE(commits, 2u);
}

TEST_P(StoreTest, ClosedStoreRefusesWork) {
  store_->close();
  EXPECT_ERRC(store_->write([](StoreWriter&) -> Result<void> { return {}; }), StoreClosed);
}

}  // namespace
}  // namespace p2panda::store

#include "stream/ingest.hpp"

#include "../store/store_fixture.hpp"

namespace p2panda::stream {
namespace {

using test::LogWriter;

class IngestTest : public ::testing::Test {
 protected:
  IngestResult ingest_one(const Operation& operation, const Topic& topic,
                          IngestConfig config = {}) {
    auto result = store_->transact([&](store::StoreWriter& tx) {
      return check_and_ingest(tx, operation, topic, config);
    });
    EXPECT_TRUE(result.has_value()) << result.error().to_string();
    return result ? std::move(*result) : IngestResult{Rejected{result.error()}, {}};
  }

  std::vector<SeqNum> seqs(const LogWriter& writer) {
    auto entries = store_->query([&](store::StoreReader& tx) {
      return tx.log_entries(writer.author(), writer.log(), std::nullopt, std::nullopt);
    });
    std::vector<SeqNum> out;
    for (const auto& entry : *entries) out.push_back(entry.seq_num());
    return out;
  }

  std::unique_ptr<store::SqliteStore> store_ = test::open_store();
};

template <class T>
bool is(const IngestResult& result) {
  return std::holds_alternative<T>(result.outcome);
}

Errc reason(const IngestResult& result) { return std::get<Rejected>(result.outcome).reason.code(); }

TEST_F(IngestTest, InsertsInOrderAndDeduplicates) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  const Operation first = writer.next();
  const Operation second = writer.next();
  auto inserted = ingest_one(first, writer.topic());
  EXPECT_TRUE(is<Inserted>(inserted));
  EXPECT_EQ(inserted.released, std::vector<Hash>{first.id()});
  EXPECT_TRUE(is<AlreadyExists>(ingest_one(first, writer.topic())));
  EXPECT_TRUE(is<Inserted>(ingest_one(second, writer.topic())));
  auto heights = store_->query([&](store::StoreReader& tx) { return tx.topic_heights(writer.topic()); });
  EXPECT_EQ((*heights)[writer.author()][writer.log()], SeqNum(1));
}

TEST_F(IngestTest, RejectsWithTheRuleBroken) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  const Operation first = writer.next();
  const Operation second = writer.next();
  const Operation third = writer.next();
  EXPECT_EQ(reason(ingest_one(second, writer.topic())), Errc::BacklinkMissing);  // out of order
  EXPECT_EQ(reason(ingest_one(first, Topic::random())), Errc::LogIdMismatch);
  auto forged = Operation::decode(first.header_bytes(), Body(Bytes(32, 8)));
  EXPECT_EQ(reason(ingest_one(*forged, writer.topic())), Errc::PayloadHashMismatch);
  ASSERT_TRUE(is<Inserted>(ingest_one(first, writer.topic())));
  EXPECT_EQ(reason(ingest_one(third, writer.topic())), Errc::SeqNumNonIncremental);  // gap

  // A fork: another operation at seq 1. The first one to arrive wins.
  LogWriter twin(*PrivateKey::from_hex(std::string(64, '1')), writer.topic());
  ASSERT_TRUE(is<Inserted>(ingest_one(second, writer.topic())));
  EXPECT_EQ(seqs(writer), (std::vector<SeqNum>{SeqNum(0), SeqNum(1)}));
}

TEST_F(IngestTest, ForkAtTheSameSeqIsRejected) {
  const PrivateKey key = PrivateKey::generate();
  const Topic topic = Topic::random();
  LogWriter a(key, topic);
  const Operation root = a.next();
  const Operation left = a.next(Body(Bytes{1}));
  ASSERT_TRUE(is<Inserted>(ingest_one(root, topic)));
  ASSERT_TRUE(is<Inserted>(ingest_one(left, topic)));
  const Operation right = create_node_operation(
      key, {.topic = topic, .seq_num = SeqNum(1), .backlink = root.id(),
            .timestamp = Timestamp(5), .body = Body(Bytes{2})});
  EXPECT_EQ(reason(ingest_one(right, topic)), Errc::SeqNumNonIncremental);
}

TEST_F(IngestTest, PruningDeletesBelowInTheSameTransaction) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> operations;
  for (int i = 0; i < 3; ++i) operations.push_back(writer.next());
  const Operation prune = writer.next(Body(Bytes{9}), /*prune=*/true);
  for (const auto& operation : operations) ASSERT_TRUE(is<Inserted>(ingest_one(operation, writer.topic())));
  auto pruned = ingest_one(prune, writer.topic());
  ASSERT_TRUE(is<Pruned>(pruned));
  EXPECT_EQ(std::get<Pruned>(pruned.outcome).count, 3u);
  EXPECT_EQ(seqs(writer), std::vector<SeqNum>{SeqNum(3)});

  // A new peer gets only the prune operation and its successors: accepted without backlink.
  auto other = test::open_store();
  const Operation after = writer.next();
  for (const Operation* operation : {&prune, &after}) {
    auto result = other->transact([&](store::StoreWriter& tx) {
      return check_and_ingest(tx, *operation, writer.topic(), {});
    });
    ASSERT_OK(result);
    EXPECT_FALSE(std::holds_alternative<Rejected>(result->outcome));
  }
  // Old entries below the prune point are not wanted any more (the log moved on).
  EXPECT_TRUE(is<Obsolete>(ingest_one(operations[1], writer.topic())));
}

TEST_F(IngestTest, StalePruneOperationIsRefusedInsteadOfForking) {
  const PrivateKey key = PrivateKey::generate();
  const Topic topic = Topic::random();
  LogWriter writer(key, topic);
  std::vector<Operation> operations;
  for (int i = 0; i < 4; ++i) operations.push_back(writer.next());
  for (const auto& operation : operations) ASSERT_TRUE(is<Inserted>(ingest_one(operation, topic)));
  const Operation stale = create_node_operation(
      key, {.topic = topic, .seq_num = SeqNum(2), .backlink = operations[1].id(),
            .timestamp = Timestamp(1), .prune = true});
  EXPECT_EQ(reason(ingest_one(stale, topic)), Errc::SeqNumNonIncremental);
  EXPECT_EQ(seqs(writer).size(), 4u);
}

}  // namespace
}  // namespace p2panda::stream

namespace p2panda::stream {
namespace {

// The publish path's fast lane: our own operations are only appended, but never past a gap.
class AppendOwnTest : public ::testing::Test {
 protected:
  Result<std::vector<IngestResult>> append_all(const std::vector<Operation>& operations,
                                               const Topic& topic, const LogId& log) {
    std::vector<IngestResult> results;
    auto done = store_->write([&](store::StoreWriter& tx) -> Result<void> {
      OwnChain chain;
      for (const auto& operation : operations) {
        auto result = append_own(tx, chain, operation, topic, log, results.empty());
        if (!result) return Unexpected{result.error()};
        results.push_back(std::move(*result));
      }
      return {};
    });
    if (!done) return Unexpected{done.error()};
    return results;
  }
  std::unique_ptr<store::SqliteStore> store_ = test::open_store();
};

TEST_F(AppendOwnTest, AppendsAChainAndLinksItsTopic) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  const std::vector<Operation> chain = {writer.next(), writer.next(), writer.next()};
  auto results = append_all(chain, writer.topic(), writer.log());
  ASSERT_TRUE(results) << results.error().to_string();
  for (std::size_t i = 0; i < chain.size(); ++i) {
    EXPECT_TRUE(std::holds_alternative<Inserted>((*results)[i].outcome));
    EXPECT_EQ((*results)[i].released, std::vector<Hash>{chain[i].id()});
  }
  auto heights = store_->query([&](store::StoreReader& tx) { return tx.topic_heights(writer.topic()); });
  EXPECT_EQ((*heights)[writer.author()][writer.log()], SeqNum(2));
  // A second job continues from what the first stored.
  const Operation fourth = writer.next();
  auto more = append_all({fourth}, writer.topic(), writer.log());
  ASSERT_TRUE(more);
  EXPECT_TRUE(std::holds_alternative<Inserted>((*more)[0].outcome));
}

TEST_F(AppendOwnTest, OperationsChainedOnALostWriteAreRejectedNotStoredWithAGap) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  const Operation first = writer.next();
  const Operation lost = writer.next();  // signed, but its write never happens
  const Operation third = writer.next();
  const Operation fourth = writer.next();
  ASSERT_TRUE(append_all({first}, writer.topic(), writer.log()));
  auto results = append_all({third, fourth}, writer.topic(), writer.log());
  ASSERT_TRUE(results) << results.error().to_string();
  for (const auto& result : *results) {
    ASSERT_TRUE(std::holds_alternative<Rejected>(result.outcome));
    EXPECT_EQ(std::get<Rejected>(result.outcome).reason.code(), Errc::BacklinkMismatch);
  }
  auto entries = store_->query([&](store::StoreReader& tx) {
    return tx.log_entries(writer.author(), writer.log(), std::nullopt, std::nullopt);
  });
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].id(), first.id());
  (void)lost;
}

TEST_F(AppendOwnTest, ASecondOperationAtATakenPositionIsRefused) {
  const PrivateKey key = PrivateKey::generate();
  const Topic topic = Topic::random();
  LogWriter writer(key, topic);
  const Operation first = writer.next();
  ASSERT_TRUE(append_all({first}, writer.topic(), writer.log()));
  // Another operation at seq 0 of the same log (another device with our key, say).
  LogWriter twin(key, topic);
  auto forked = append_all({twin.next()}, writer.topic(), writer.log());
  // Its backlink (none) is not the log's latest entry: refused before any write.
  ASSERT_TRUE(forked);
  EXPECT_TRUE(std::holds_alternative<Rejected>((*forked)[0].outcome));
}

}  // namespace
}  // namespace p2panda::stream

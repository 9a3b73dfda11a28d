// IngestQueue: received operations are verified off the node thread (by one or more threads),
// taken topic by topic in turn, stored, and answered on the node thread in push order per topic.
#include "node/ingest_queue.hpp"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <thread>

#include "../store/store_fixture.hpp"

namespace p2panda::node {
namespace {

using test::LogWriter;
using namespace std::chrono_literals;

struct Answer {
  Topic topic;
  SeqNum seq;
  Hash id;
  bool inserted = false;
  Errc rejected = Errc::Io;
};

// The parameter: how many verifier threads.
class IngestQueueTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  void push(const Operation& operation, const Topic& topic) {
    queue_.push({topic, operation, false,
                 [this, topic](const Operation& op, Result<stream::IngestResult> result) {
                   Answer answer{topic, op.seq_num(), op.id()};
                   if (result) {
                     answer.inserted = std::holds_alternative<stream::Inserted>(result->outcome);
                     if (auto* no = std::get_if<stream::Rejected>(&result->outcome)) {
                       answer.rejected = no->reason.code();
                     }
                   }
                   answers_.push_back(answer);
                 }});
  }
  // Runs the io_context (the "node thread") until `count` answers arrived or 10 s passed.
  void await_answers(std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (answers_.size() < count && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(10ms);
    }
    ASSERT_EQ(answers_.size(), count);
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<store::SqliteStore> store_ = test::open_store();
  std::shared_ptr<Completions> completions_ =
      std::make_shared<Completions>(io_.get_executor());
  // Started by hand, once everything is queued: which item the verifier takes first must not
  // depend on how fast the test pushes.
  IngestQueue queue_{*store_, completions_, false, GetParam()};
  std::vector<Answer> answers_;
};

TEST_P(IngestQueueTest, AnswersInPushOrderAndRefusesBadOperations) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> log;
  for (int i = 0; i < 20; ++i) log.push_back(writer.next());
  for (const auto& operation : log) push(operation, writer.topic());
  push(log[3], Topic::random());  // the wrong topic for its log: check() refuses it
  queue_.start();
  ASSERT_NO_FATAL_FAILURE(await_answers(21));
  std::vector<Answer> own, other;
  for (const auto& answer : answers_) (answer.topic == writer.topic() ? own : other).push_back(answer);
  ASSERT_EQ(own.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(own[i].seq, SeqNum(i));  // in push order within the topic
    EXPECT_TRUE(own[i].inserted) << i;
  }
  ASSERT_EQ(other.size(), 1u);
  EXPECT_FALSE(other[0].inserted);
  EXPECT_NE(other[0].rejected, Errc::Io);
  auto heights = store_->query([&](store::StoreReader& tx) { return tx.topic_heights(writer.topic()); });
  EXPECT_EQ((*heights)[writer.author()][writer.log()], SeqNum(19));
}

TEST_P(IngestQueueTest, ATopicWithABacklogDoesNotHoldAnotherTopicBack) {
  // With more than one verifier the live operation is still taken second, but when its answer
  // comes depends on how the threads are scheduled (one may be preempted mid-verification while
  // the others answer dozens): only one verifier gives an order to assert.
  if (GetParam() != 1) GTEST_SKIP() << "answer order depends on thread scheduling";
  LogWriter bulk(PrivateKey::generate(), Topic::random());
  LogWriter live(PrivateKey::generate(), Topic::random());
  constexpr int kBacklog = 200;
  std::vector<Operation> backlog;  // signed first: pushing is then quick
  for (int i = 0; i < kBacklog; ++i) backlog.push_back(bulk.next());
  const Operation message = live.next();
  for (const auto& operation : backlog) push(operation, bulk.topic());
  push(message, live.topic());
  queue_.start();
  ASSERT_NO_FATAL_FAILURE(await_answers(kBacklog + 1));
  std::size_t live_at = 0;
  for (std::size_t i = 0; i < answers_.size(); ++i) {
    if (answers_[i].topic == live.topic()) live_at = i;
  }
  // Topics take turns: the live operation waits for one backlog operation, not for the whole
  // backlog (FIFO would put it last, at 200).
  EXPECT_EQ(live_at, 1u);
  EXPECT_TRUE(answers_[live_at].inserted);
}

// An operation that takes long to verify (a large body to hash) ahead of quick ones of its topic:
// with several verifiers the quick ones are checked first, and still go to the store after it.
TEST_P(IngestQueueTest, ASlowVerificationHoldsItsTopicsLaterOperationsBack) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> log;
  log.push_back(writer.next(Body(Bytes(8 << 20, 7))));
  for (int i = 1; i < 8; ++i) log.push_back(writer.next());
  for (const auto& operation : log) push(operation, writer.topic());
  queue_.start();
  ASSERT_NO_FATAL_FAILURE(await_answers(log.size()));
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(answers_[i].seq, SeqNum(static_cast<std::uint32_t>(i)));
    EXPECT_TRUE(answers_[i].inserted) << i;
  }
}

// Several authors in one topic, a forged operation in the middle and duplicates at the end: each
// gets its outcome, and what reached the store is answered in push order.
TEST_P(IngestQueueTest, ForgedAndDuplicateOperationsAmongSeveralAuthors) {
  const Topic topic = Topic::random();
  std::vector<LogWriter> writers;
  for (int i = 0; i < 4; ++i) writers.emplace_back(PrivateKey::generate(), topic);
  std::vector<Operation> operations;
  for (int i = 0; i < 200; ++i) operations.push_back(writers[i % 4].next());
  Header forged = operations[100].header();
  forged.payload_size += 1;  // its signature no longer matches
  auto bad = Operation::decode(forged.encode(), std::nullopt);
  ASSERT_TRUE(bad.has_value());
  for (int i = 0; i < 200; ++i) {
    if (i == 100) push(*bad, topic);
    push(operations[i], topic);
  }
  for (int i = 0; i < 10; ++i) push(operations[i], topic);  // duplicates
  queue_.start();
  ASSERT_NO_FATAL_FAILURE(await_answers(211));
  ASSERT_EQ(answers_.size(), 211u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(answers_[i].inserted) << i;
    EXPECT_EQ(answers_[i].id, operations[i].id()) << i;
  }
  EXPECT_FALSE(answers_[100].inserted);
  EXPECT_EQ(answers_[100].rejected, Errc::SignatureInvalid);
  for (int i = 100; i < 200; ++i) {
    EXPECT_TRUE(answers_[i + 1].inserted) << i;
    EXPECT_EQ(answers_[i + 1].id, operations[i].id()) << i;
  }
  for (int i = 201; i < 211; ++i) {
    EXPECT_FALSE(answers_[i].inserted) << i;
    EXPECT_EQ(answers_[i].id, operations[i - 201].id()) << i;
    EXPECT_EQ(answers_[i].rejected, Errc::Io) << i;  // AlreadyExists: neither stored nor refused
  }
}

// Answers reach the node thread in batches. Where the node thread goes on after a handler throws
// (the QUIC endpoint's loop catches), the answers after that one in its batch are still
// delivered, in order. All 50 are stored and answered before the node thread runs at all, so
// they wait as one batch, and the one in the middle throws.
TEST_P(IngestQueueTest, AnAnswerThatThrowsDoesNotHoldBackTheRest) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> log;
  for (int i = 0; i < 50; ++i) log.push_back(writer.next());
  std::vector<SeqNum> answered;
  for (const auto& operation : log) {
    queue_.push({writer.topic(), operation, false,
                 [&answered](const Operation& op, Result<stream::IngestResult>) {
                   answered.push_back(op.seq_num());
                   if (op.seq_num() == SeqNum(25)) throw std::runtime_error("handler failed");
                 }});
  }
  queue_.start();
  // Until the writer stored the last one; a write queued after it then runs after its answer.
  const auto stored_by = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto heights = store_->query([&](store::StoreReader& tx) { return tx.topic_heights(writer.topic()); });
    ASSERT_TRUE(heights.has_value());
    auto author = heights->find(writer.author());
    if (author != heights->end() && author->second.at(writer.log()) == SeqNum(49)) break;
    ASSERT_LT(std::chrono::steady_clock::now(), stored_by) << "the writer did not store all 50";
    std::this_thread::yield();
  }
  ASSERT_TRUE(store_->write([](store::StoreWriter&) -> Result<void> { return {}; }).has_value());
  std::size_t thrown = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (answered.size() < log.size() && std::chrono::steady_clock::now() < deadline) {
    try {
      io_.run_for(10ms);
    } catch (const std::runtime_error&) {
      ++thrown;
      io_.restart();
    }
  }
  EXPECT_EQ(thrown, 1u);
  ASSERT_EQ(answered.size(), log.size());
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(answered[i], SeqNum(static_cast<std::uint32_t>(i)));
  }
}

INSTANTIATE_TEST_SUITE_P(Verifiers, IngestQueueTest, ::testing::Values(1, 2, 4),
                         [](const auto& param) { return std::to_string(param.param); });

}  // namespace
}  // namespace p2panda::node

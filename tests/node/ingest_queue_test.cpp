// IngestQueue: received operations are verified off the node thread, taken topic by topic in
// turn, stored, and answered on the node thread in push order per topic.
#include "node/ingest_queue.hpp"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "../store/store_fixture.hpp"

namespace p2panda::node {
namespace {

using test::LogWriter;
using namespace std::chrono_literals;

struct Answer {
  Topic topic;
  SeqNum seq;
  bool inserted = false;
  Errc rejected = Errc::Io;
};

class IngestQueueTest : public ::testing::Test {
 protected:
  void push(const Operation& operation, const Topic& topic) {
    queue_.push({topic, operation, false,
                 [this, topic](const Operation& op, Result<stream::IngestResult> result) {
                   Answer answer{topic, op.seq_num()};
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
  IngestQueue queue_{*store_, completions_, false};
  std::vector<Answer> answers_;
};

TEST_F(IngestQueueTest, AnswersInPushOrderAndRefusesBadOperations) {
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> log;
  for (int i = 0; i < 20; ++i) log.push_back(writer.next());
  for (const auto& operation : log) push(operation, writer.topic());
  push(log[3], Topic::random());  // the wrong topic for its log: check() refuses it
  queue_.start();
  await_answers(21);
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

TEST_F(IngestQueueTest, ATopicWithABacklogDoesNotHoldAnotherTopicBack) {
  LogWriter bulk(PrivateKey::generate(), Topic::random());
  LogWriter live(PrivateKey::generate(), Topic::random());
  constexpr int kBacklog = 200;
  std::vector<Operation> backlog;  // signed first: pushing is then quick
  for (int i = 0; i < kBacklog; ++i) backlog.push_back(bulk.next());
  const Operation message = live.next();
  for (const auto& operation : backlog) push(operation, bulk.topic());
  push(message, live.topic());
  queue_.start();
  await_answers(kBacklog + 1);
  std::size_t live_at = 0;
  for (std::size_t i = 0; i < answers_.size(); ++i) {
    if (answers_[i].topic == live.topic()) live_at = i;
  }
  // Topics take turns: the live operation waits for one backlog operation, not for the whole
  // backlog (FIFO would put it last, at 200).
  EXPECT_EQ(live_at, 1u);
  EXPECT_TRUE(answers_[live_at].inserted);
}

}  // namespace
}  // namespace p2panda::node

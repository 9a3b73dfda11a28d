#include "stream/pipeline.hpp"

#include "../store/store_fixture.hpp"

namespace p2panda::stream {
namespace {

using test::LogWriter;

struct Collected {
  std::mutex mutex;
  std::vector<Hash> order;
  std::map<std::string, int> outcomes;
  int errors = 0;

  IngestPipeline::Callback callback() {
    return [this](const Operation& operation, Result<IngestResult> result) {
      std::lock_guard lock(mutex);
      order.push_back(operation.id());
      if (!result) {
        ++errors;
        return;
      }
      ++outcomes[outcome_name(result->outcome)];
    };
  }
};

class PipelineTest : public ::testing::TestWithParam<std::size_t> {};
INSTANTIATE_TEST_SUITE_P(VerifyThreads, PipelineTest, ::testing::Values(0, 1, 3));

TEST_P(PipelineTest, IngestsInPushOrderWithBackpressure) {
  auto store = test::open_store();
  const Topic topic = Topic::random();
  std::vector<LogWriter> writers;
  for (int i = 0; i < 4; ++i) writers.emplace_back(PrivateKey::generate(), topic);
  std::vector<Operation> operations;
  for (int i = 0; i < 400; ++i) operations.push_back(writers[i % 4].next());
  // A bad one in the middle: its signature no longer matches.
  Header forged = operations[200].header();
  forged.payload_size += 1;
  auto bad = Operation::decode(forged.encode(), std::nullopt);
  ASSERT_OK(bad);

  Collected collected;
  {
    IngestPipeline pipeline(*store, {.verify_threads = GetParam(), .max_in_flight = 8},
                            collected.callback());
    for (int i = 0; i < 400; ++i) {
      if (i == 200) pipeline.push(*bad, topic);
      pipeline.push(operations[i], topic);
    }
    pipeline.drain();
    for (int i = 0; i < 10; ++i) pipeline.push(operations[i], topic);  // duplicates
  }
  EXPECT_EQ(collected.errors, 0);
  EXPECT_EQ(collected.outcomes["Inserted"], 400);
  EXPECT_EQ(collected.outcomes["Rejected"], 1);
  EXPECT_EQ(collected.outcomes["AlreadyExists"], 10);
  // Results come back in push order for everything that reached the store.
  std::vector<Hash> stored_order;
  for (const Hash& id : collected.order) {
    if (id != bad->id()) stored_order.push_back(id);
  }
  stored_order.resize(400);
  for (int i = 0; i < 400; ++i) EXPECT_EQ(stored_order[i], operations[i].id()) << i;
}

}  // namespace
}  // namespace p2panda::stream

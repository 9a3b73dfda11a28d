// Publishing from several threads at once while our own operations also arrive from elsewhere
// (an import of our log into another topic, as when a device is restored). Every publish must
// succeed. Before, each of our own operations arriving from elsewhere made every topic forget
// the head publish signs on, even an echo of one we had; a publisher then signed on the
// committed head while valid publishes were still on their way to the store, and the resulting
// failures kept forgetting the head of the next, valid chain (the file variant failed every run).
// The in-memory variant runs the causal publishes' reads on the store's writer, which before also
// took a publisher's lock after each failed publish: a publisher holding it while its read waited
// behind that could stop the node for good (found by review; the writer no longer takes it).
#include <thread>

#include "../store/store_fixture.hpp"
#include "node_fixture.hpp"

namespace p2panda::test {
namespace {

class ConcurrentPublishers : public testing::TestWithParam<bool> {};  // a file database?

TEST_P(ConcurrentPublishers, EveryPublishSucceedsWhileOurOwnOperationsArriveElsewhere) {
  TempDir dir;
  const PrivateKey key = PrivateKey::generate();
  auto node = p2panda::builder()
                  .private_key(key)
                  .database_url(GetParam() ? "sqlite:" + dir.file("node.db") : ":memory:")
                  .bind_v4("127.0.0.1")
                  .mdns_mode(MdnsMode::Disabled)
                  .spawn_blocking();
  ASSERT_OK(node);
  const Topic topic = Topic::random(), elsewhere = Topic::random();
  // Causal: every publish also reads the other authors' heads from the store under its lock.
  StreamOptions causal;
  causal.causal = true;
  auto stream = node->stream_blocking<std::string>(topic, causal);
  auto other = node->stream_blocking<std::string>(elsewhere);
  ASSERT_TRUE(stream && other);

  constexpr int kThreads = 3, kEach = 200, kImports = 40, kPerImport = 5;
  std::atomic<int> failed{0};
  std::string first_failure;
  std::mutex failure_mutex;
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = stream->publisher.publish_blocking(std::to_string(t) + "/" + std::to_string(i));
        if (!id && failed.fetch_add(1) == 0) {
          std::lock_guard lock(failure_mutex);
          first_failure = id.error().to_string();
        }
      }
    });
  }
  // Our own log in the other topic, brought in from elsewhere meanwhile.
  std::optional<Hash> backlink;
  std::uint64_t imported = 0;
  for (int round = 0; round < kImports; ++round) {
    std::vector<Operation> operations;
    for (int i = 0; i < kPerImport; ++i) {
      const std::uint32_t seq = static_cast<std::uint32_t>(round * kPerImport + i);
      operations.push_back(create_node_operation(
          key, {.topic = elsewhere, .seq_num = SeqNum(seq), .backlink = backlink,
                .timestamp = Timestamp::now(), .body = Body(Codec<std::string>::encode("e"))}));
      backlink = operations.back().id();
    }
    auto ended = run_async(other->publisher.import(std::move(operations)));
    ASSERT_OK(ended);
    imported += ended->imported;
  }
  for (auto& publisher : publishers) publisher.join();
  EXPECT_EQ(failed.load(), 0) << "first failure: " << first_failure;
  EXPECT_EQ(imported, std::uint64_t{kImports * kPerImport});
  // Our log in the topic is whole: every publish is delivered, each once.
  EXPECT_EQ(messages(stream->subscription, kThreads * kEach, 30s).size(),
            std::size_t{kThreads * kEach});
}

INSTANTIATE_TEST_SUITE_P(Stores, ConcurrentPublishers, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& param) {
                           return param.param ? "File" : "InMemory";
                         });

}  // namespace
}  // namespace p2panda::test

// Automatic acks whose cursor writes fail (a full disk, say): each is reported (AckFailed) and
// tried again at the next settle, so once writes work again the subscription goes on. Before, a
// failed one stayed in flight for good, and after max_ack_pending of them nothing was delivered
// again until a restart.
#include "../store/store_fixture.hpp"
#include "node_fixture.hpp"
#include "store/sqlite.hpp"

namespace p2panda::test {
namespace {

TEST(AckFailure, FailedAutomaticAcksAreRetriedAndDeliveryGoesOn) {
  TempDir dir;
  const std::string database = dir.file("acks.db");
  auto node = spawn_on(database);
  ASSERT_OK(node);
  StreamOptions options;
  options.ack_policy = AckPolicy::Automatic;
  options.max_ack_pending = 2;
  auto stream = node->stream_blocking<std::string>(Topic::random(), options);
  ASSERT_OK(stream);
  constexpr int kMessages = 5;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_OK(stream->publisher.publish_blocking("m" + std::to_string(i)));
  }
  auto raw = store::Connection::open(database);
  ASSERT_OK(raw);
  ASSERT_OK((*raw)->exec(
      "CREATE TRIGGER full_disk BEFORE INSERT ON cursors BEGIN SELECT RAISE(FAIL, 'full'); END;"
      "CREATE TRIGGER full_disk_update BEFORE UPDATE ON cursors "
      "BEGIN SELECT RAISE(FAIL, 'full'); END;"));
  std::vector<std::string> received;
  std::size_t ack_failures = 0;
  const auto take = [&](std::chrono::milliseconds wait) {
    auto event = stream->subscription.next(wait);
    EXPECT_TRUE(event) << event.error().to_string();
    if (!event || !*event) return false;
    if (auto* processed = std::get_if<Processed<std::string>>(&**event)) {
      received.push_back(processed->message);
    } else if (std::holds_alternative<AckFailed>(**event)) {
      ++ack_failures;
    }
    return true;
  };
  // While writes fail: two delivered (the cap on unacked ones), their acks failing.
  while (ack_failures < 2 && take(2s)) {
  }
  EXPECT_GE(ack_failures, 2u);
  EXPECT_EQ(received.size(), 2u);
  ASSERT_OK((*raw)->exec("DROP TRIGGER full_disk; DROP TRIGGER full_disk_update;"));
  while (received.size() < kMessages && take(5s)) {
  }
  std::vector<std::string> expected;
  for (int i = 0; i < kMessages; ++i) expected.push_back("m" + std::to_string(i));
  EXPECT_EQ(received, expected) << "delivery did not go on once cursor writes worked again";
}

}  // namespace
}  // namespace p2panda::test

// Acks that could be lost. Automatic acks whose cursor writes fail (a full disk, say): each is
// reported (AckFailed) and tried again at the next settle, so once writes work again the
// subscription goes on; before, a failed one stayed in flight for good, and after
// max_ack_pending of them nothing was delivered again until a restart. And two subscriptions
// sharing a cursor name: each one's acks stay saved; before, each wrote its own whole cursor
// over the other's.
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

TEST(AckFailure, TwoSubscriptionsWithOneCursorNameKeepEachOthersAcks) {
  TempDir dir;
  const std::string database = dir.file("shared_cursor.db");
  const Topic topic = Topic::random();
  const auto of = [&](const PrivateKey& key, const std::string& text) {
    return create_node_operation(key, {.topic = topic, .seq_num = SeqNum(0),
                                       .timestamp = Timestamp::now(),
                                       .body = Body(Codec<std::string>::encode(text))});
  };
  const Operation p = of(PrivateKey::generate(), "p"), q = of(PrivateKey::generate(), "q");
  {
    auto node = spawn_on(database);  // explicit acks
    ASSERT_OK(node);
    auto first = node->stream_blocking<std::string>(topic);
    auto second = node->stream_blocking<std::string>(topic);  // the same (default) cursor name
    ASSERT_TRUE(first && second);
    ASSERT_OK(run_async(first->publisher.import({p, q})));
    EXPECT_EQ(messages(first->subscription, 2).size(), 2u);
    EXPECT_EQ(messages(second->subscription, 2).size(), 2u);
    ASSERT_OK(first->subscription.ack_blocking(p.id()));
    ASSERT_OK(second->subscription.ack_blocking(q.id()));  // its cursor has not seen p's ack
    node->shutdown();
  }
  // Both acked in the saved cursor. Before, the second
  // write left only q acked, and p came again after a restart.
  auto raw = store::Connection::open(database);
  ASSERT_OK(raw);
  auto statement = (*raw)->prepare("SELECT cursor FROM cursors");
  ASSERT_OK(statement);
  auto row = (*statement)->step();
  ASSERT_OK(row);
  ASSERT_TRUE(*row);
  auto cursor = Cursor::decode((*statement)->column_blob(0));
  ASSERT_OK(cursor);
  auto more = (*statement)->step();
  ASSERT_OK(more);
  EXPECT_FALSE(*more) << "the two subscriptions did not share one cursor";
  EXPECT_TRUE(cursor->is_acked(p.author(), LogId::from_topic(topic), SeqNum(0)));
  EXPECT_TRUE(cursor->is_acked(q.author(), LogId::from_topic(topic), SeqNum(0)));
}

}  // namespace
}  // namespace p2panda::test

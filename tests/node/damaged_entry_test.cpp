// A stored operation whose row no longer decodes (a damaged disk, say), met by a subscription's
// replay after a restart: the application is told which one (ProcessingFailed, StoreCorrupt),
// gets every other operation, and the stream goes on. Before, the replay stopped at that row for
// good, and nothing behind it, live operations included, was delivered again.
#include "../store/store_fixture.hpp"
#include "node_fixture.hpp"
#include "store/sqlite.hpp"

namespace p2panda::test {
namespace {

// A causal stream's replay is read whole and put in order, a plain one is read a page at a time:
// both take this path.
void replay_past_a_damaged_entry(bool causal) {
  StreamOptions options;
  options.causal = causal;
  TempDir dir;
  const std::string database = dir.file("damaged.db");
  const Topic topic = Topic::random();
  std::vector<Hash> published;
  {
    auto node = spawn_on(database);
    ASSERT_OK(node);
    auto stream = node->stream_blocking<std::string>(topic, options);
    ASSERT_OK(stream);
    for (int i = 0; i < 5; ++i) {
      auto id = stream->publisher.publish_blocking("m" + std::to_string(i));
      ASSERT_OK(id);
      published.push_back(*id);
    }
    node->shutdown();
  }
  {
    auto raw = store::Connection::open(database);
    ASSERT_OK(raw);
    ASSERT_OK((*raw)->exec("UPDATE operations SET header = x'00ff' WHERE id = x'" +
                           published[2].to_hex() + "'"));
  }
  auto node = spawn_on(database);
  ASSERT_OK(node);
  auto stream = node->stream_blocking<std::string>(topic, options);
  ASSERT_OK(stream);
  // Nothing was acked: the replay brings all five, one of which cannot be read.
  // In the order of the log: the damaged one where it stands.
  std::vector<std::string> replayed;
  std::vector<ProcessingFailed> failed;
  std::optional<std::uint64_t> total;
  auto events = collect<std::string>(stream->subscription, [&](const auto& event) {
    if (auto* started = std::get_if<ReplayStarted>(&event)) total = started->total_operations;
    if (auto* processed = std::get_if<Processed<std::string>>(&event)) {
      replayed.push_back(processed->message);
    } else if (auto* failure = std::get_if<ProcessingFailed>(&event)) {
      failed.push_back(*failure);
      replayed.push_back("(failed)");
    }
    return std::holds_alternative<ReplayEnded>(event);
  });
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(std::holds_alternative<ReplayEnded>(events.back())) << "the replay did not end";
  EXPECT_EQ(replayed, (std::vector<std::string>{"m0", "m1", "(failed)", "m3", "m4"}));
  EXPECT_EQ(total, 5u) << "ReplayStarted counts what the replay hands out, the damaged one too";
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, published[2]);
  EXPECT_EQ(failed[0].error.code(), Errc::StoreCorrupt) << failed[0].error.to_string();
  // The stream goes on: a new publish is delivered.
  ASSERT_OK(stream->publisher.publish_blocking("m5"));
  EXPECT_EQ(messages(stream->subscription, 1), (std::vector<std::string>{"m5"}));
}

TEST(DamagedEntry, AReplayReportsItAndDeliversTheRest) { replay_past_a_damaged_entry(false); }

TEST(DamagedEntry, ACausalReplayReportsItAndDeliversTheRest) { replay_past_a_damaged_entry(true); }

// An operation the causal orderer releases is read back from the store to be delivered: if its
// row no longer reads, that is said (ProcessingFailed), where before it was skipped in silence.
TEST(DamagedEntry, AReleasedOneIsReported) {
  TempDir dir;
  const std::string database = dir.file("damaged_release.db");
  auto node = spawn_on(database);
  ASSERT_OK(node);
  const Topic topic = Topic::random();
  StreamOptions causal;
  causal.causal = true;
  auto stream = node->stream_blocking<std::string>(topic, causal);
  ASSERT_OK(stream);
  const auto first = [&](const std::string& text, std::vector<Hash> dependencies) {
    return create_node_operation(PrivateKey::generate(),
                                 {.topic = topic, .seq_num = SeqNum(0),
                                  .timestamp = Timestamp::now(),
                                  .body = Body(Codec<std::string>::encode(text)),
                                  .dependencies = std::move(dependencies)});
  };
  const Operation m = first("m", {});
  const Operation w = first("w", {m.id()});
  ASSERT_OK(run_async(stream->publisher.import({w})));  // held back: m has not come
  {
    auto raw = store::Connection::open(database);
    ASSERT_OK(raw);
    ASSERT_OK((*raw)->exec("UPDATE operations SET header = x'00ff' WHERE id = x'" +
                           w.id().to_hex() + "'"));
  }
  ASSERT_OK(run_async(stream->publisher.import({m})));  // releases both
  std::vector<std::string> seen;
  std::optional<ProcessingFailed> failed;
  collect<std::string>(stream->subscription, [&](const auto& event) {
    if (auto* processed = std::get_if<Processed<std::string>>(&event)) {
      seen.push_back(processed->message);
    } else if (auto* failure = std::get_if<ProcessingFailed>(&event)) {
      if (failure->id == w.id()) failed = *failure;
    }
    return failed.has_value();
  });
  EXPECT_EQ(seen, std::vector<std::string>{"m"});
  ASSERT_TRUE(failed.has_value()) << "the released, damaged operation went unreported";
  EXPECT_EQ(failed->error.code(), Errc::StoreCorrupt) << failed->error.to_string();
}

// Sync sends a log around a damaged entry instead of failing: before, every session of the topic
// with every peer failed at that row, and the peer got none of the log.
TEST(DamagedEntry, SyncSendsWhatStillReads) {
  TempDir dir;
  const std::string database = dir.file("damaged_sync.db");
  Nodes nodes(Net::Sim);
  auto& a = nodes.add([&](NodeBuilder& builder) { builder.database_url("sqlite:" + database); });
  const Topic topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  ASSERT_OK(on_a);
  std::vector<Hash> published;
  for (int i = 0; i < 4; ++i) {
    auto id = on_a->publisher.publish_blocking("m" + std::to_string(i));
    ASSERT_OK(id);
    published.push_back(*id);
  }
  {
    auto raw = store::Connection::open(database);
    ASSERT_OK(raw);
    ASSERT_OK((*raw)->exec("UPDATE operations SET header = x'00ff' WHERE id = x'" +
                           published[2].to_hex() + "'"));
  }
  auto& b = nodes.add();
  auto on_b = b.stream_blocking<std::string>(topic);
  ASSERT_OK(on_b);
  nodes.introduce_all();
  EXPECT_EQ(messages(on_b->subscription, 2), (std::vector<std::string>{"m0", "m1"}));
  // What follows the damaged entry was sent too: b refuses it, since it lacks that entry.
  std::optional<ProcessingFailed> refused;
  collect<std::string>(on_b->subscription, [&](const auto& event) {
    auto* failed = std::get_if<ProcessingFailed>(&event);
    if (failed && failed->id == published[3]) refused = *failed;
    return refused.has_value();
  });
  ASSERT_TRUE(refused.has_value()) << "the entry after the damaged one was not sent";
  EXPECT_EQ(refused->error.code(), Errc::SeqNumNonIncremental) << refused->error.to_string();
}

}  // namespace
}  // namespace p2panda::test

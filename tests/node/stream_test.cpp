// Topic streams between whole nodes, on the simulated network and on real QUIC (127.0.0.1):
// eventual consistency, live delivery, deduplication, pruning and imports.
#include "gossip_fixture.hpp"
#include "node_fixture.hpp"

#include <set>
#include <thread>

namespace p2panda::test {
namespace {

class NodeStream : public testing::TestWithParam<Net> {};

TEST_P(NodeStream, LocalPublishIsDeliveredToOwnSubscription) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto topic = Topic::random();
  auto stream = a.stream_blocking<std::string>(topic);
  ASSERT_TRUE(stream) << stream.error().to_string();
  auto id = stream->publisher.publish_blocking("Hello, Panda!");
  ASSERT_TRUE(id) << id.error().to_string();
  auto events = collect<std::string>(stream->subscription, [](const auto& event) {
    return std::holds_alternative<Processed<std::string>>(event);
  });
  ASSERT_FALSE(events.empty());
  auto& processed = std::get<Processed<std::string>>(events.back());
  EXPECT_EQ(processed.message, "Hello, Panda!");
  EXPECT_EQ(processed.operation.id, *id);
  EXPECT_EQ(processed.operation.author, a.id());
  EXPECT_EQ(processed.operation.seq.value(), 0u);
  EXPECT_TRUE(std::holds_alternative<FromLocalStore>(processed.source));
}

TEST_P(NodeStream, OfflinePublishesSyncWhenPeersMeetThenLiveOnesFlow) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto& b = nodes.add();
  auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  auto on_b = b.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a && on_b);
  // Published while the nodes do not know each other: sync carries them when they meet.
  ASSERT_TRUE(on_a->publisher.publish_blocking("one"));
  ASSERT_TRUE(on_a->publisher.publish_blocking("two"));
  nodes.introduce_all();
  EXPECT_EQ(messages(on_b->subscription, 2), (std::vector<std::string>{"one", "two"}));
  // The session stays up in live mode: new operations flow at once, both ways.
  ASSERT_TRUE(on_a->publisher.publish_blocking("three"));
  std::optional<Processed<std::string>> live;
  collect<std::string>(on_b->subscription, [&](const auto& event) {
    if (auto* processed = std::get_if<Processed<std::string>>(&event)) live = *processed;
    return live.has_value();
  });
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->message, "three");
  auto* source = std::get_if<FromSyncSession>(&live->source);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->remote, a.id());
  EXPECT_EQ(source->phase, SessionPhase::Live);

  ASSERT_TRUE(on_b->publisher.publish_blocking("from b"));
  auto on_a_messages = messages(on_a->subscription, 4);  // its own three, then b's
  ASSERT_EQ(on_a_messages.size(), 4u);
  EXPECT_EQ(on_a_messages.back(), "from b");
  EXPECT_GE(b.metrics().sync_sessions_started, 1u);
  EXPECT_GE(b.metrics().operations_ingested, 3u);
}

TEST_P(NodeStream, SyncEventsReportOperationsAndBytes) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto& b = nodes.add();
  auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(on_a->publisher.publish_blocking("m" + std::to_string(i)));
  auto on_b = b.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_b);
  nodes.introduce_all();
  auto events = collect<std::string>(on_b->subscription, [](const auto& event) {
    return std::holds_alternative<SyncStarted>(event);
  });
  ASSERT_FALSE(events.empty());
  auto& started = std::get<SyncStarted>(events.back());
  EXPECT_EQ(started.remote, a.id());
  EXPECT_EQ(started.incoming_operations, 3u);
  EXPECT_GT(started.incoming_bytes, 0u);
  EXPECT_EQ(started.outgoing_operations, 0u);
}

TEST_P(NodeStream, ThreePublishesAreReceivedExactlyOnceOverAMesh) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  nodes.add();
  auto& c = nodes.add();
  auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  auto on_b = nodes[1].stream_blocking<std::string>(topic);
  auto on_c = c.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a && on_b && on_c);
  nodes.introduce_all();
  for (auto text : {"x", "y", "z"}) ASSERT_TRUE(on_a->publisher.publish_blocking(text));
  // Each operation reaches C over two paths (from A, and forwarded by B). A marker published
  // after them arrives last from A; anything delivered twice would show up before it.
  ASSERT_TRUE(on_a->publisher.publish_blocking("marker"));
  auto got = messages(on_c->subscription, 4);
  EXPECT_EQ(got, (std::vector<std::string>{"x", "y", "z", "marker"}));
  auto more = on_c->subscription.next(300ms);
  ASSERT_TRUE(more);
  if (*more) {
    EXPECT_FALSE(std::holds_alternative<Processed<std::string>>(**more));
  }
}

TEST_P(NodeStream, PruneLeavesExactlyOneEntryOnBothNodes) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto& b = nodes.add();
  auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  auto on_b = b.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a && on_b);
  nodes.introduce_all();
  for (auto text : {"1", "2", "3"}) ASSERT_TRUE(on_a->publisher.publish_blocking(text));
  ASSERT_TRUE(messages(on_b->subscription, 3).size() == 3);
  // prune() has only the awaitable form: run it on a small io_context of the test's own.
  auto prune_id = run_async(on_a->publisher.prune(std::string("snapshot")));
  ASSERT_TRUE(prune_id) << prune_id.error().to_string();
  auto snapshot = messages(on_b->subscription, 1);
  ASSERT_EQ(snapshot, std::vector<std::string>{"snapshot"});
  // A fresh cursor replaying from the start sees what each store still holds.
  for (Node* node : {&a, &b}) {
    StreamOptions options;
    options.cursor_name = "audit";
    options.from = from::Start{};
    auto audit = node->stream_blocking<std::string>(topic, options);
    ASSERT_TRUE(audit);
    auto events = collect<std::string>(audit->subscription, [](const auto& event) {
      return std::holds_alternative<ReplayEnded>(event);
    });
    ASSERT_FALSE(events.empty());
    ASSERT_TRUE(std::holds_alternative<ReplayStarted>(events.front()));
    EXPECT_EQ(std::get<ReplayStarted>(events.front()).total_operations, 1u);
    EXPECT_EQ((count_of<Processed<std::string>>(events)), 1u);
  }
}

TEST_P(NodeStream, ImportedOperationsAreDeliveredAndSynced) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto& b = nodes.add();
  auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  auto on_b = b.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a && on_b);
  nodes.introduce_all();
  // Operations of a third author, brought in from elsewhere (a file, another device).
  auto author = PrivateKey::generate();
  std::vector<Operation> operations;
  std::optional<Hash> backlink;
  for (std::uint32_t seq = 0; seq < 2; ++seq) {
    operations.push_back(create_node_operation(
        author, {.topic = topic, .seq_num = SeqNum(seq), .backlink = backlink,
                 .timestamp = Timestamp::now(),
                 .body = Body(Codec<std::string>::encode("imported " + std::to_string(seq)))}));
    backlink = operations.back().id();
  }
  auto ended = run_async(on_a->publisher.import(operations));
  ASSERT_TRUE(ended) << ended.error().to_string();
  EXPECT_EQ(ended->imported, 2u);
  EXPECT_EQ(ended->failed, 0u);
  EXPECT_EQ(messages(on_a->subscription, 2),
            (std::vector<std::string>{"imported 0", "imported 1"}));
  EXPECT_EQ(messages(on_b->subscription, 2),
            (std::vector<std::string>{"imported 0", "imported 1"}));
}

// Publish keeps the head of its own log in memory; operations of our own log that arrive from
// elsewhere (here an import, as from another device with our key) must move that head.
TEST_P(NodeStream, PublishContinuesAfterOwnOperationsArriveFromElsewhere) {
  Nodes nodes(GetParam());
  const PrivateKey key = PrivateKey::generate();
  auto& a = nodes.add([&](NodeBuilder& builder) { builder.private_key(key); });
  auto topic = Topic::random();
  auto stream = a.stream_blocking<std::string>(topic);
  ASSERT_TRUE(stream);
  auto first = stream->publisher.publish_blocking("seq 0");
  ASSERT_TRUE(first) << first.error().to_string();
  std::vector<Operation> elsewhere;
  std::optional<Hash> backlink = *first;
  for (std::uint32_t seq = 1; seq < 3; ++seq) {
    elsewhere.push_back(create_node_operation(
        key, {.topic = topic, .seq_num = SeqNum(seq), .backlink = backlink,
              .timestamp = Timestamp::now(),
              .body = Body(Codec<std::string>::encode("seq " + std::to_string(seq)))}));
    backlink = elsewhere.back().id();
  }
  auto ended = run_async(stream->publisher.import(elsewhere));
  ASSERT_TRUE(ended) << ended.error().to_string();
  EXPECT_EQ(ended->imported, 2u);
  auto next = stream->publisher.publish_blocking("seq 3");
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(messages(stream->subscription, 4),
            (std::vector<std::string>{"seq 0", "seq 1", "seq 2", "seq 3"}));
}

// Publishers sign on their own threads under their topic's lock: several threads publishing on
// one topic make one gap-free log, every call gets its own id, and a peer receives it all.
TEST_P(NodeStream, ConcurrentPublishersMakeOneGapFreeLog) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto& b = nodes.add();
  auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  auto on_b = b.stream_blocking<std::string>(topic);
  ASSERT_TRUE(on_a && on_b);
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::vector<Hash>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = on_a->publisher.publish_blocking(std::to_string(t) + "/" + std::to_string(i));
        if (id) ids[t].push_back(*id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<Hash> distinct;
  for (const auto& per_thread : ids) {
    EXPECT_EQ(per_thread.size(), static_cast<std::size_t>(kEach));
    distinct.insert(per_thread.begin(), per_thread.end());
  }
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kThreads * kEach));
  // Our own subscription sees seqs 0..199 in order, each thread's messages in its own order.
  std::vector<std::uint32_t> seqs;
  std::vector<int> next_of(kThreads, 0);
  collect<std::string>(on_a->subscription, [&](const auto& event) {
    if (auto* processed = std::get_if<Processed<std::string>>(&event)) {
      seqs.push_back(processed->operation.seq.value());
      const auto slash = processed->message.find('/');
      const int t = std::stoi(processed->message.substr(0, slash));
      EXPECT_EQ(std::stoi(processed->message.substr(slash + 1)), next_of[t]++);
    }
    return seqs.size() >= static_cast<std::size_t>(kThreads * kEach);
  });
  ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kThreads * kEach));
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i);
  nodes.introduce_all();
  EXPECT_EQ(messages(on_b->subscription, kThreads * kEach).size(),
            static_cast<std::size_t>(kThreads * kEach));
}

// More awaitable publishes in flight than one store batch takes (64): the queue is handed to the
// writer in batches, in order, and every publish is answered, stored and delivered once.
TEST_P(NodeStream, MorePublishesInFlightThanABatchAllLandInOrder) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto stream = a.stream_blocking<std::string>(Topic::random());
  ASSERT_TRUE(stream);
  constexpr int kPublishes = 300;
  asio::io_context io;
  std::vector<std::optional<Result<Hash>>> answers(kPublishes);
  for (int i = 0; i < kPublishes; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> Awaitable<void> {
          answers[i] = co_await stream->publisher.publish("message " + std::to_string(i));
        },
        asio::detached);
  }
  io.run_for(30s);
  std::set<Hash> distinct;
  for (int i = 0; i < kPublishes; ++i) {
    ASSERT_TRUE(answers[i]) << "publish " << i << " never answered";
    ASSERT_TRUE(*answers[i]) << answers[i]->error().to_string();
    distinct.insert(**answers[i]);
  }
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kPublishes));
  // Signed in the order the coroutines ran, so seq i carries message i.
  std::vector<std::string> expected;
  for (int i = 0; i < kPublishes; ++i) expected.push_back("message " + std::to_string(i));
  EXPECT_EQ(messages(stream->subscription, kPublishes), expected);
}

// A session that fails before it starts (here: the peer does not follow the topic) reaches no
// subscription, so the event stream reports it; started sessions never do.
TEST_P(NodeStream, ASessionRefusedBeforeItStartsIsASystemEvent) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();
  auto& b = nodes.add();
  auto& c = nodes.add();
  const auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  auto on_c = c.stream_blocking<std::string>(topic);
  auto elsewhere = b.stream_blocking<std::string>(Topic::random());  // b follows another topic
  ASSERT_TRUE(on_a && on_c && elsewhere);
  auto events = a.event_stream_blocking();
  ASSERT_TRUE(events);
  ASSERT_TRUE(on_c->publisher.publish_blocking("from c"));
  nodes.introduce_all();
  std::optional<SyncSessionFailed> failed;
  ASSERT_TRUE(wait_event(*events, [&](const SystemEvent& event) {
    auto* typed = std::get_if<SyncSessionFailed>(&event);
    if (typed && typed->node == c.id()) {
      ADD_FAILURE() << "c follows the topic: " << typed->error.to_string();
    }
    if (typed && typed->node == b.id()) failed = *typed;
    return failed.has_value();
  }));
  EXPECT_EQ(failed->topic, topic);
  EXPECT_EQ(failed->error.code(), Errc::HandshakeRejected);
  EXPECT_NE(failed->error.message().find("does not follow the topic"), std::string::npos)
      << failed->error.to_string();
  // The session with c started and synced meanwhile.
  EXPECT_EQ(messages(on_a->subscription, 1), std::vector<std::string>{"from c"});
}

// A slot that keeps failing is dialled less and less often (dial_backoff.hpp): each
// SyncSessionFailed says when the next attempt comes, and it comes no earlier.
TEST_P(NodeStream, ASlotThatKeepsFailingIsDialledLessOften) {
  Nodes nodes(GetParam());
  auto& a = nodes.add();  // sync_retry 200 ms
  auto& b = nodes.add();
  const auto topic = Topic::random();
  auto on_a = a.stream_blocking<std::string>(topic);
  auto elsewhere = b.stream_blocking<std::string>(Topic::random());  // b refuses `topic`
  ASSERT_TRUE(on_a && elsewhere);
  auto events = a.event_stream_blocking();
  ASSERT_TRUE(events);
  nodes.introduce_all();
  std::vector<std::chrono::milliseconds> retry_in;
  std::vector<std::chrono::steady_clock::time_point> seen;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(wait_event(*events, [&](const SystemEvent& event) {
      auto* failed = std::get_if<SyncSessionFailed>(&event);
      if (failed == nullptr || failed->node != b.id() || failed->topic != topic) return false;
      retry_in.push_back(failed->retry_in);
      seen.push_back(std::chrono::steady_clock::now());
      return true;
    })) << "failure " << i;
  }
  EXPECT_EQ(retry_in, (std::vector<std::chrono::milliseconds>{200ms, 400ms, 800ms, 1600ms}));
  // Events travel through a queue, so allow them a little lateness each.
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i] - seen[i - 1], retry_in[i - 1] - 50ms) << "attempt " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, NodeStream, testing::Values(Net::Sim, Net::Quic), net_name);

}  // namespace
}  // namespace p2panda::test

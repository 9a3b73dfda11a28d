// Causal multi-writer streams: three writers build a chain a -> b -> c (each publishes after
// seeing the previous one, so each depends on it), and a fourth node that joins later must never
// see an operation before its dependencies, whatever order the network hands them over in.
#include <algorithm>

#include "../store/store_fixture.hpp"
#include "core/try.hpp"
#include "node_fixture.hpp"
#include "store/sqlite_store.hpp"

namespace p2panda::test {
namespace {

// Keys whose public keys sort c < b < a. Log sync sends what a peer lacks in ascending author
// order, so a late joiner syncing from C receives c, then b, then a: the reverse of causal order,
// which without the orderer is the order it would deliver them in.
std::vector<PrivateKey> keys_sorted_descending(std::size_t n) {
  std::vector<PrivateKey> keys;
  for (std::size_t i = 0; i < n; ++i) keys.push_back(PrivateKey::generate());
  std::sort(keys.begin(), keys.end(), [](const PrivateKey& x, const PrivateKey& y) {
    return y.public_key() < x.public_key();
  });
  return keys;
}

StreamOptions causal_options() {
  StreamOptions options;
  options.causal = true;
  return options;
}

// Waits until `subscription` has delivered `text`; returns everything it delivered until then.
std::vector<std::string> until(Subscription<std::string>& subscription, const std::string& text) {
  std::vector<std::string> seen;
  collect<std::string>(subscription, [&](const auto& event) {
    if (auto* processed = std::get_if<Processed<std::string>>(&event)) {
      seen.push_back(processed->message);
    }
    return !seen.empty() && seen.back() == text;
  });
  return seen;
}

std::size_t index_of(const std::vector<std::string>& seen, const std::string& text) {
  return static_cast<std::size_t>(std::find(seen.begin(), seen.end(), text) - seen.begin());
}

TEST(NodeCausal, ThreeWritersAreDeliveredInCausalOrderOnEveryNode) {
  net::SimHubConfig sim;
  sim.seed = 7;
  sim.link.delay = std::chrono::milliseconds(2);
  sim.link.jitter = std::chrono::milliseconds(20);  // reorders across sessions
  Nodes nodes(Net::Sim, sim);
  auto keys = keys_sorted_descending(3);
  std::vector<Node*> writers;
  for (auto& key : keys) {
    writers.push_back(&nodes.add([key](NodeBuilder& builder) { builder.private_key(key); }));
  }
  auto topic = Topic::random();
  std::vector<Stream<std::string>> streams;
  for (Node* writer : writers) {
    auto stream = writer->stream_blocking<std::string>(topic, causal_options());
    ASSERT_TRUE(stream) << stream.error().to_string();
    streams.push_back(std::move(*stream));
  }
  nodes.introduce_all();

  // The chain: each writer publishes once it has seen the previous link.
  const std::vector<std::string> chain = {"a", "b", "c"};
  for (std::size_t i = 0; i < chain.size(); ++i) {
    if (i > 0) {
      auto seen = until(streams[i].subscription, chain[i - 1]);
      ASSERT_FALSE(seen.empty());
      ASSERT_EQ(seen.back(), chain[i - 1]);
    }
    ASSERT_TRUE(streams[i].publisher.publish_blocking(chain[i]));
  }

  // A late joiner that only knows C: it receives c before b before a over one session.
  auto& late = nodes.add();
  auto on_late = late.stream_blocking<std::string>(topic, causal_options());
  ASSERT_TRUE(on_late);
  ASSERT_TRUE(late.insert_bootstrap(writers[2]->id(), writers[2]->addresses()));
  std::vector<std::string> seen;
  collect<std::string>(on_late->subscription, [&](const auto& event) {
    if (auto* processed = std::get_if<Processed<std::string>>(&event)) {
      seen.push_back(processed->message);
    }
    return seen.size() == 3;
  });
  EXPECT_EQ(seen, chain);

  // And every writer saw the chain in order too.
  for (std::size_t w = 0; w < streams.size(); ++w) {
    auto all = until(streams[w].subscription, "c");
    // Writers already consumed part of the chain above; what remains must keep its order.
    for (std::size_t i = 1; i < all.size(); ++i) {
      EXPECT_LT(index_of(chain, all[i - 1]), index_of(chain, all[i])) << "writer " << w;
    }
  }
}

// Signed by `key` at seq 0 of its log in `topic`, depending on `dependencies`.
Operation first_of(const PrivateKey& key, const Topic& topic, const std::string& text,
                   std::vector<Hash> dependencies) {
  return create_node_operation(key, {.topic = topic, .seq_num = SeqNum(0),
                                     .timestamp = Timestamp::now(),
                                     .body = Body(Codec<std::string>::encode(text)),
                                     .dependencies = std::move(dependencies)});
}

// The messages delivered until the replay ended (or, without a replay, nothing).
std::vector<std::string> replayed(Subscription<std::string>& subscription) {
  std::vector<std::string> seen;
  collect<std::string>(subscription, [&](const auto& event) {
    if (auto* processed = std::get_if<Processed<std::string>>(&event)) {
      seen.push_back(processed->message);
    }
    return std::holds_alternative<ReplayEnded>(event);
  });
  return seen;
}

// What a restart replays must keep the causal order too: dependencies first, across authors, and
// nothing that still waits for a dependency.
TEST(NodeCausal, ReplayAfterARestartKeepsCausalOrderAndHoldsBackWhatWaits) {
  TempDir dir;
  const std::string database = dir.file("causal_replay.db");
  auto keys = keys_sorted_descending(4);  // replay walks authors in ascending order: 3, 2, 1, 0
  auto topic = Topic::random();
  // x (by 0) <- y (by 1) <- z (by 2); w (by 3) waits for m, by a fifth author, which comes later.
  auto x = first_of(keys[0], topic, "x", {});
  auto y = first_of(keys[1], topic, "y", {x.id()});
  auto z = first_of(keys[2], topic, "z", {y.id()});
  auto m = first_of(PrivateKey::generate(), topic, "m", {});
  auto w = first_of(keys[3], topic, "w", {m.id()});
  {
    auto node = spawn_on(database);
    ASSERT_TRUE(node) << node.error().to_string();
    auto stream = node->stream_blocking<std::string>(topic, causal_options());
    ASSERT_TRUE(stream);
    auto ended = run_async(stream->publisher.import({z, w, y, x}));
    ASSERT_TRUE(ended) << ended.error().to_string();
    EXPECT_EQ(ended->failed, 0u);
    EXPECT_EQ(messages(stream->subscription, 3), (std::vector<std::string>{"x", "y", "z"}));
    node->shutdown();  // nothing acked: all of it comes again
  }
  auto node = spawn_on(database);
  ASSERT_TRUE(node) << node.error().to_string();
  auto stream = node->stream_blocking<std::string>(topic, causal_options());
  ASSERT_TRUE(stream);
  EXPECT_EQ(replayed(stream->subscription), (std::vector<std::string>{"x", "y", "z"}));
  // w is released once m arrives, and only then.
  auto ended = run_async(stream->publisher.import({m}));
  ASSERT_TRUE(ended) << ended.error().to_string();
  EXPECT_EQ(messages(stream->subscription, 2), (std::vector<std::string>{"m", "w"}));
  node->shutdown();
}

// A topic used without `causal` first, then with it: what came in before counts as released, so
// an operation depending on it is delivered rather than held back for ever.
TEST(NodeCausal, OperationsFromBeforeATopicWasCausalCountAsReleased) {
  TempDir dir;
  const std::string database = dir.file("causal_later.db");
  auto topic = Topic::random();
  auto other = PrivateKey::generate();
  auto q = first_of(other, topic, "q", {});
  std::optional<Hash> published;
  {
    auto node = spawn_on(database);
    ASSERT_TRUE(node) << node.error().to_string();
    auto stream = node->stream_blocking<std::string>(topic);  // not causal
    ASSERT_TRUE(stream);
    auto id = stream->publisher.publish_blocking("p");  // our own log's fast lane
    ASSERT_TRUE(id) << id.error().to_string();
    published = *id;
    ASSERT_TRUE(run_async(stream->publisher.import({q})));
    EXPECT_EQ(messages(stream->subscription, 2), (std::vector<std::string>{"p", "q"}));
    node->shutdown();
  }
  auto node = spawn_on(database);
  ASSERT_TRUE(node) << node.error().to_string();
  auto stream = node->stream_blocking<std::string>(topic, causal_options());
  ASSERT_TRUE(stream);
  auto r = first_of(PrivateKey::generate(), topic, "r", {*published, q.id()});
  ASSERT_TRUE(run_async(stream->publisher.import({r})));
  // p and q again (never acked; independent, so in either order), then r.
  auto seen = messages(stream->subscription, 3);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2], "r");
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"p", "q", "r"}));
  node->shutdown();
}

// An entry whose own dependencies are there still waits for the earlier entry of its log.
TEST(NodeCausal, ALogIsNeverReleasedOutOfItsOwnOrder) {
  Nodes nodes(Net::Sim);
  auto& node = nodes.add();
  auto topic = Topic::random();
  auto stream = node.stream_blocking<std::string>(topic, causal_options());
  ASSERT_TRUE(stream);
  auto author = PrivateKey::generate();
  auto m = first_of(PrivateKey::generate(), topic, "m", {});
  auto w0 = first_of(author, topic, "w0", {m.id()});
  auto w1 = create_node_operation(author, {.topic = topic, .seq_num = SeqNum(1),
                                           .backlink = w0.id(), .timestamp = Timestamp::now(),
                                           .body = Body(Codec<std::string>::encode("w1")),
                                           .dependencies = std::vector<Hash>{}});
  auto held = run_async(stream->publisher.import({w0, w1}));
  ASSERT_TRUE(held) << held.error().to_string();
  EXPECT_EQ(held->failed, 0u);
  ASSERT_TRUE(run_async(stream->publisher.import({m})));
  // Had w1 gone out before m arrived, it would come first here.
  EXPECT_EQ(messages(stream->subscription, 3), (std::vector<std::string>{"m", "w0", "w1"}));
}

// The other way round: held back while the topic was causal, its dependency arrives in a session
// that opens the topic without `causal`. It is released then, or it would wait for ever.
TEST(NodeCausal, WhatWasHeldBackIsReleasedWhenItsDependencyArrivesLater) {
  TempDir dir;
  const std::string database = dir.file("causal_then_not.db");
  auto topic = Topic::random();
  auto m = first_of(PrivateKey::generate(), topic, "m", {});
  auto w = first_of(PrivateKey::generate(), topic, "w", {m.id()});
  {
    auto node = spawn_on(database);
    ASSERT_TRUE(node) << node.error().to_string();
    auto stream = node->stream_blocking<std::string>(topic, causal_options());
    ASSERT_TRUE(stream);
    ASSERT_TRUE(run_async(stream->publisher.import({w})));  // held back
    node->shutdown();
  }
  auto node = spawn_on(database);
  ASSERT_TRUE(node) << node.error().to_string();
  auto stream = node->stream_blocking<std::string>(topic);  // not causal
  ASSERT_TRUE(stream);
  ASSERT_TRUE(run_async(stream->publisher.import({m})));
  EXPECT_EQ(messages(stream->subscription, 2), (std::vector<std::string>{"m", "w"}));
  node->shutdown();
}

// Our publishes depend on what our subscribers have seen, not on an entry the orderer holds back
// (its dependency never came): before, each of ours then waited behind it too, on this node and
// on every peer, and after max_pending publishes they failed with OrdererFull.
TEST(NodeCausal, OurPublishesDoNotDependOnWhatIsHeldBack) {
  auto node = p2panda::builder().bind_v4("127.0.0.1").mdns_mode(MdnsMode::Disabled).spawn_blocking();
  ASSERT_OK(node);
  auto topic = Topic::random();
  auto stream = node->stream_blocking<std::string>(topic, causal_options());
  ASSERT_OK(stream);
  const PrivateKey other = PrivateKey::generate();
  auto seen = first_of(other, topic, "seen", {});
  ASSERT_OK(run_async(stream->publisher.import({seen})));
  EXPECT_EQ(messages(stream->subscription, 1), std::vector<std::string>{"seen"});
  // Its next entry waits for an operation nobody has.
  auto stuck = create_node_operation(
      other, {.topic = topic, .seq_num = SeqNum(1), .backlink = seen.id(),
              .timestamp = Timestamp::now(), .body = Body(Codec<std::string>::encode("stuck")),
              .dependencies = std::vector<Hash>{Hash::digest(as_bytes("never arrives"))}});
  ASSERT_OK(run_async(stream->publisher.import({stuck})));
  ASSERT_OK(stream->publisher.publish_blocking("ours"));
  EXPECT_EQ(messages(stream->subscription, 1), std::vector<std::string>{"ours"});
}

// A dependency may name an operation of another topic. What it held back is delivered to its own
// topic's subscribers when it is released, not to those of the topic the dependency came in on.
TEST(NodeCausal, AnOperationReleasedByAnotherTopicGoesToItsOwnTopic) {
  Nodes nodes(Net::Sim);
  auto& node = nodes.add();
  auto first = Topic::random();
  auto second = Topic::random();
  auto on_first = node.stream_blocking<std::string>(first, causal_options());
  auto on_second = node.stream_blocking<std::string>(second, causal_options());
  ASSERT_TRUE(on_first && on_second);
  auto u = first_of(PrivateKey::generate(), first, "u", {});
  auto v = first_of(PrivateKey::generate(), second, "v", {u.id()});
  ASSERT_TRUE(run_async(on_second->publisher.import({v})));  // held back: u is not there
  ASSERT_TRUE(run_async(on_first->publisher.import({u})));
  EXPECT_EQ(messages(on_second->subscription, 1), (std::vector<std::string>{"v"}));
  // The first topic's subscription sees u and nothing of the second topic's.
  EXPECT_EQ(messages(on_first->subscription, 1), (std::vector<std::string>{"u"}));
  // Had v been offered to the first topic too, it would have been offered right after u, in the
  // same step: it would be waiting already.
  for (;;) {
    auto next = on_first->subscription.next(std::chrono::milliseconds(0));
    ASSERT_TRUE(next) << next.error().to_string();
    if (!next->has_value()) break;
    EXPECT_FALSE(std::holds_alternative<Processed<std::string>>(**next))
        << "the second topic's operation reached the first topic";
  }
}

// A prune deletes the entries below it, its backlink included: in a causal topic it must not
// wait for that entry (here stored by the fast lane before the topic became causal).
TEST(NodeCausal, APruneIsReleasedThoughItDeletesWhatItFollows) {
  Nodes nodes(Net::Sim);
  auto& node = nodes.add();
  auto topic = Topic::random();
  auto plain = node.stream_blocking<std::string>(topic);
  ASSERT_TRUE(plain);
  ASSERT_TRUE(plain->publisher.publish_blocking("a"));
  ASSERT_TRUE(plain->publisher.publish_blocking("b"));
  auto causal = node.stream_blocking<std::string>(topic, causal_options());  // causal from now
  ASSERT_TRUE(causal);
  EXPECT_EQ(replayed(causal->subscription), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(run_async(causal->publisher.prune(std::string("c"))));
  EXPECT_EQ(messages(causal->subscription, 1), (std::vector<std::string>{"c"}));
}

// An entry that arrives while the topic is not causal, behind an entry of its log that a causal
// session held back, waits behind it: the log is still delivered, and acked, in order.
TEST(NodeCausal, ALogStaysInOrderInASessionWithoutCausal) {
  TempDir dir;
  const std::string database = dir.file("causal_log_order.db");
  auto topic = Topic::random();
  auto author = PrivateKey::generate();
  auto m = first_of(PrivateKey::generate(), topic, "m", {});
  auto w0 = first_of(author, topic, "w0", {m.id()});
  auto w1 = create_node_operation(author, {.topic = topic, .seq_num = SeqNum(1),
                                           .backlink = w0.id(), .timestamp = Timestamp::now(),
                                           .body = Body(Codec<std::string>::encode("w1"))});
  {
    auto node = spawn_on(database);
    ASSERT_TRUE(node) << node.error().to_string();
    auto stream = node->stream_blocking<std::string>(topic, causal_options());
    ASSERT_TRUE(stream);
    ASSERT_TRUE(run_async(stream->publisher.import({w0})));  // held back: m is missing
    node->shutdown();
  }
  auto node = spawn_on(database);
  ASSERT_TRUE(node) << node.error().to_string();
  auto stream = node->stream_blocking<std::string>(topic);  // not causal
  ASSERT_TRUE(stream);
  ASSERT_TRUE(run_async(stream->publisher.import({w1})));
  ASSERT_TRUE(run_async(stream->publisher.import({m})));
  EXPECT_EQ(messages(stream->subscription, 3), (std::vector<std::string>{"m", "w0", "w1"}));
  node->shutdown();
}

// A database where an operation waits for one stored without the orderer, and nothing will ever
// bring that one again (written by an older version, which did not count it as released): the
// node releases such waiters when it starts, and the replay brings them in order.
TEST(NodeCausal, WaitersForWhatIsStoredAlreadyAreReleasedAtStart) {
  TempDir dir;
  const std::string database = dir.file("causal_settled.db");
  auto topic = Topic::random();
  auto d = first_of(PrivateKey::generate(), topic, "d", {});
  auto x = first_of(PrivateKey::generate(), topic, "x", {d.id()});
  {
    auto store = store::SqliteStore::open({.url = "sqlite:" + database});
    ASSERT_TRUE(store) << store.error().to_string();
    auto written = (*store)->write([&](store::StoreWriter& writer) -> Result<void> {
      for (const Operation* operation : {&d, &x}) {
        const LogId log = LogId::from_topic(topic);
        P2PANDA_TRY(inserted, writer.insert_operation(*operation, log));
        (void)inserted;
        P2PANDA_CHECK(writer.associate(topic, operation->author(), log));
      }
      const Hash dependency = d.id();
      return writer.orderer_add_pending(x.id(), LogId::from_topic(topic), {&dependency, 1});
    });
    ASSERT_TRUE(written) << written.error().to_string();
  }
  auto node = spawn_on(database);
  ASSERT_TRUE(node) << node.error().to_string();
  auto stream = node->stream_blocking<std::string>(topic, causal_options());
  ASSERT_TRUE(stream);
  EXPECT_EQ(replayed(stream->subscription), (std::vector<std::string>{"d", "x"}));
  node->shutdown();
}

}  // namespace
}  // namespace p2panda::test

// The causal orderer: never releases an operation before its dependencies, releases waiting
// dependants in arrival order, never twice, survives restarts, and bounds what it holds back.
#include <algorithm>
#include <random>

#include "store/sqlite.hpp"
#include "stream/ingest.hpp"
#include "../store/store_fixture.hpp"

namespace p2panda::stream {
namespace {

using test::LogWriter;
using test::TempDir;

const IngestConfig kCausal{.causal = true, .orderer = {.max_pending = 10'000}};

IngestResult ingest_one(store::Store& store, const Operation& operation, const Topic& topic,
                        const IngestConfig& config = kCausal) {
  auto result = store.transact([&](store::StoreWriter& tx) {
    return check_and_ingest(tx, operation, topic, config);
  });
  EXPECT_TRUE(result.has_value()) << result.error().to_string();
  return result ? std::move(*result) : IngestResult{Rejected{result.error()}, {}};
}

TEST(Orderer, HoldsBackUntilDependenciesArrive) {
  auto store = test::open_store();
  const Topic topic = Topic::random();
  LogWriter alice(PrivateKey::generate(), topic), bob(PrivateKey::generate(), topic);
  const Operation a0 = alice.next(Body(Bytes{1}), false, std::vector<Hash>{});
  const Operation b0 = bob.next(Body(Bytes{2}), false, std::vector<Hash>{a0.id()});
  const Operation b1 = bob.next(Body(Bytes{3}), false, std::vector<Hash>{a0.id()});
  const Operation a1 = alice.next(Body(Bytes{4}), false, std::vector<Hash>{b1.id()});

  auto held = ingest_one(*store, b0, topic);
  ASSERT_TRUE(std::holds_alternative<Pending>(held.outcome));
  EXPECT_EQ(std::get<Pending>(held.outcome).missing, std::vector<Hash>{a0.id()});
  EXPECT_TRUE(held.released.empty());
  EXPECT_TRUE(std::holds_alternative<Pending>(ingest_one(*store, b1, topic).outcome));
  auto pending = store->query([](store::StoreReader& tx) { return tx.orderer_pending_count(); });
  EXPECT_EQ(*pending, 2u);

  auto released = ingest_one(*store, a0, topic);
  EXPECT_TRUE(std::holds_alternative<Inserted>(released.outcome));
  EXPECT_EQ(released.released, (std::vector<Hash>{a0.id(), b0.id(), b1.id()}));
  EXPECT_EQ(ingest_one(*store, a1, topic).released, std::vector<Hash>{a1.id()});
  EXPECT_TRUE(ingest_one(*store, a0, topic).released.empty());  // never twice
  pending = store->query([](store::StoreReader& tx) { return tx.orderer_pending_count(); });
  EXPECT_EQ(*pending, 0u);
}

TEST(Orderer, StateSurvivesARestart) {
  TempDir dir;
  const Topic topic = Topic::random();
  LogWriter alice(PrivateKey::generate(), topic), bob(PrivateKey::generate(), topic);
  const Operation a0 = alice.next(Body(Bytes{1}), false, std::vector<Hash>{});
  const Operation b0 = bob.next(Body(Bytes{2}), false, std::vector<Hash>{a0.id()});
  {
    auto store = test::open_store(dir.file("db.sqlite"));
    EXPECT_TRUE(std::holds_alternative<Pending>(ingest_one(*store, b0, topic).outcome));
  }
  auto store = test::open_store(dir.file("db.sqlite"));
  EXPECT_EQ(ingest_one(*store, a0, topic).released, (std::vector<Hash>{a0.id(), b0.id()}));
}

std::uint64_t held_in(store::Store& store, const Topic& topic) {
  auto count = store.query(
      [&](store::StoreReader& tx) { return tx.orderer_held_count(LogId::from_topic(topic)); });
  EXPECT_TRUE(count.has_value()) << count.error().to_string();
  return count ? *count : 0;
}

TEST(Orderer, BoundsHeldBackOperations) {
  auto store = test::open_store();
  const Topic topic = Topic::random();
  const IngestConfig small{.causal = true, .orderer = {.max_pending = 3}};
  const Hash never = Hash::digest(as_bytes("never arrives"));
  std::vector<Operation> waiting;
  for (int i = 0; i < 4; ++i) {
    LogWriter writer(PrivateKey::generate(), topic);
    waiting.push_back(writer.next(Body(Bytes{1}), false, std::vector<Hash>{never}));
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(std::holds_alternative<Pending>(ingest_one(*store, waiting[i], topic, small).outcome));
  }
  auto refused = ingest_one(*store, waiting[3], topic, small);
  ASSERT_TRUE(std::holds_alternative<Rejected>(refused.outcome));
  EXPECT_EQ(std::get<Rejected>(refused.outcome).reason.code(), Errc::OrdererFull);
  auto stored = store->query([&](store::StoreReader& tx) { return tx.has_operation(waiting[3].id()); });
  EXPECT_FALSE(*stored);  // refused operations are not stored
}


// The same bound when the topic is no longer causal: the entries that follow one held back in an
// earlier, causal session wait behind it (to keep the log in order), and take places too.
// Before, they were never refused, so one held-back entry let a peer make the node hold any
// number of them.
TEST(Orderer, EntriesWaitingBehindAnEarlierSessionsHeldBackOneAreBoundedToo) {
  auto store = test::open_store();
  const Topic topic = Topic::random();
  const IngestConfig causal{.causal = true, .orderer = {.max_pending = 3}};
  const IngestConfig plain{.causal = false, .orderer = {.max_pending = 3}};
  const Hash never = Hash::digest(as_bytes("never arrives"));
  LogWriter alice(PrivateKey::generate(), topic);
  ASSERT_TRUE(std::holds_alternative<Pending>(
      ingest_one(*store, alice.next(Body(Bytes{1}), false, std::vector<Hash>{never}), topic, causal)
          .outcome));
  for (int i = 0; i < 2; ++i) {
    auto behind = ingest_one(*store, alice.next(Body(Bytes{2})), topic, plain);
    EXPECT_TRUE(std::holds_alternative<Pending>(behind.outcome)) << i;
    EXPECT_TRUE(behind.released.empty());
  }
  EXPECT_EQ(held_in(*store, topic), 3u);
  const Operation refused = alice.next(Body(Bytes{3}));
  auto result = ingest_one(*store, refused, topic, plain);
  ASSERT_TRUE(std::holds_alternative<Rejected>(result.outcome));
  EXPECT_EQ(std::get<Rejected>(result.outcome).reason.code(), Errc::OrdererFull);
  auto stored = store->query([&](store::StoreReader& tx) { return tx.has_operation(refused.id()); });
  EXPECT_FALSE(*stored);  // refused operations are not stored
  EXPECT_EQ(held_in(*store, topic), 3u);
}

// A topic whose dependencies never arrive (a peer referencing operations nobody has) fills its
// own bound, not everyone's: another causal topic still holds back and releases as usual.
TEST(Orderer, BoundIsPerTopic) {
  auto store = test::open_store();
  const Topic stuck = Topic::random(), other = Topic::random();
  const IngestConfig small{.causal = true, .orderer = {.max_pending = 2}};
  const Hash never = Hash::digest(as_bytes("never arrives"));
  for (int i = 0; i < 3; ++i) {
    LogWriter writer(PrivateKey::generate(), stuck);
    const Operation waiting = writer.next(Body(Bytes{1}), false, std::vector<Hash>{never});
    auto result = ingest_one(*store, waiting, stuck, small);
    if (i < 2) {
      EXPECT_TRUE(std::holds_alternative<Pending>(result.outcome));
    } else {
      ASSERT_TRUE(std::holds_alternative<Rejected>(result.outcome));
      EXPECT_EQ(std::get<Rejected>(result.outcome).reason.code(), Errc::OrdererFull);
      auto stored = store->query([&](store::StoreReader& tx) { return tx.has_operation(waiting.id()); });
      EXPECT_FALSE(*stored);
    }
  }
  EXPECT_EQ(held_in(*store, stuck), 2u);

  LogWriter alice(PrivateKey::generate(), other), bob(PrivateKey::generate(), other);
  const Operation a0 = alice.next(Body(Bytes{2}), false, std::vector<Hash>{});
  const Operation b0 = bob.next(Body(Bytes{3}), false, std::vector<Hash>{a0.id()});
  auto held = ingest_one(*store, b0, other, small);
  ASSERT_TRUE(std::holds_alternative<Pending>(held.outcome))
      << (std::holds_alternative<Rejected>(held.outcome)
              ? std::get<Rejected>(held.outcome).reason.to_string()
              : "");
  EXPECT_EQ(held_in(*store, other), 1u);
  EXPECT_EQ(ingest_one(*store, a0, other, small).released, (std::vector<Hash>{a0.id(), b0.id()}));
  EXPECT_EQ(held_in(*store, other), 0u);
  EXPECT_EQ(held_in(*store, stuck), 2u);
}

// A peer cannot get around the bound by pruning what it had held back and holding back more: the
// pruned entries' rows stay until what they wait for arrives, so they keep their places.
TEST(Orderer, PruningHeldBackEntriesDoesNotFreeTheirPlaces) {
  auto store = test::open_store();
  const Topic topic = Topic::random();
  const IngestConfig small{.causal = true, .orderer = {.max_pending = 2}};
  LogWriter alice(PrivateKey::generate(), topic);
  std::vector<Hash> held;
  for (int round = 0; round < 3; ++round) {
    const Hash never = Hash::digest(as_bytes("never arrives " + std::to_string(round)));
    const Operation waiting = alice.next(Body(Bytes{1}), false, std::vector<Hash>{never});
    auto result = ingest_one(*store, waiting, topic, small);
    if (round < 2) {
      ASSERT_TRUE(std::holds_alternative<Pending>(result.outcome)) << round;
      held.push_back(waiting.id());
    } else {
      ASSERT_TRUE(std::holds_alternative<Rejected>(result.outcome));
      EXPECT_EQ(std::get<Rejected>(result.outcome).reason.code(), Errc::OrdererFull);
      break;
    }
    auto pruned = ingest_one(*store, alice.next(std::nullopt, true, std::vector<Hash>{}), topic,
                             small);
    ASSERT_TRUE(std::holds_alternative<Pruned>(pruned.outcome)) << round;
  }
  EXPECT_EQ(held_in(*store, topic), 2u);
  auto pending = store->query([](store::StoreReader& tx) { return tx.orderer_pending_count(); });
  EXPECT_EQ(*pending, 2u);
  // Pruned, so nothing of the topic that a replay would miss is held back.
  auto holds = store->query(
      [&](store::StoreReader& tx) { return tx.orderer_holds(LogId::from_topic(topic)); });
  EXPECT_FALSE(*holds);
}

// A database of schema version 1 (before held-back operations were counted per topic) opens with
// its held-back operations counted against their topics.
TEST(Orderer, AnOlderDatabaseCountsItsHeldBackOperationsPerTopic) {
  TempDir dir;
  const std::string path = dir.file("v1.sqlite");
  const Topic first = Topic::random(), second = Topic::random();
  // Several missing dependencies each: one held-back operation, several rows.
  std::vector<Hash> never{Hash::digest(as_bytes("never 1")), Hash::digest(as_bytes("never 2"))};
  std::sort(never.begin(), never.end());
  {
    auto store = test::open_store(path);
    for (const Topic* topic : {&first, &first, &second}) {
      LogWriter writer(PrivateKey::generate(), *topic);
      ASSERT_TRUE(std::holds_alternative<Pending>(
          ingest_one(*store, writer.next(Body(Bytes{1}), false, never), *topic).outcome));
    }
  }
  {
    auto connection = store::Connection::open(path);
    ASSERT_TRUE(connection.has_value());
    ASSERT_TRUE((*connection)->exec("DROP TABLE orderer_held; PRAGMA user_version = 1").has_value());
  }
  auto store = test::open_store(path);
  EXPECT_EQ(held_in(*store, first), 2u);
  EXPECT_EQ(held_in(*store, second), 1u);
  auto holds = store->query(
      [&](store::StoreReader& tx) { return tx.orderer_holds(LogId::from_topic(second)); });
  EXPECT_TRUE(*holds);
  auto connection = store::Connection::open(path, true);
  ASSERT_TRUE(connection.has_value());
  auto version = (*connection)->query_int("PRAGMA user_version");
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(*version, 2);
}

// Three writers, each publishing after seeing the others' latest operations; delivered to a fresh
// node in random interleavings. Every release order respects every dependency.
TEST(Orderer, ThreeWritersUnderReordering) {
  const Topic topic = Topic::random();
  std::vector<LogWriter> writers;
  for (int i = 0; i < 3; ++i) writers.emplace_back(PrivateKey::generate(), topic);
  std::mt19937_64 rng(std::random_device{}());
  std::vector<std::vector<Operation>> logs(3);
  std::map<Hash, std::vector<Hash>> dependencies;
  for (int round = 0; round < 30; ++round) {
    const std::size_t w = rng() % 3;
    std::vector<Hash> heads;
    for (std::size_t other = 0; other < 3; ++other) {
      if (other != w && !logs[other].empty()) heads.push_back(logs[other].back().id());
    }
    logs[w].push_back(writers[w].next(Body(Bytes{static_cast<std::uint8_t>(round)}), false, heads));
    dependencies[logs[w].back().id()] = heads;
  }
  for (int trial = 0; trial < 10; ++trial) {
    // A random interleaving that keeps each author's log in order (sync delivers logs in order).
    std::vector<std::size_t> next(3, 0), order;
    for (std::size_t w = 0; w < 3; ++w) order.insert(order.end(), logs[w].size(), w);
    std::shuffle(order.begin(), order.end(), rng);
    auto store = test::open_store();
    std::vector<Hash> released;
    for (std::size_t w : order) {
      auto result = ingest_one(*store, logs[w][next[w]++], topic);
      ASSERT_FALSE(std::holds_alternative<Rejected>(result.outcome));
      released.insert(released.end(), result.released.begin(), result.released.end());
    }
    ASSERT_EQ(released.size(), 30u);
    std::set<Hash> seen;
    for (const Hash& id : released) {
      for (const Hash& dependency : dependencies[id]) {
        EXPECT_TRUE(seen.count(dependency)) << "released before its dependency";
      }
      EXPECT_TRUE(seen.insert(id).second) << "released twice";
    }
  }
}

}  // namespace
}  // namespace p2panda::stream

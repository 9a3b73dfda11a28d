// Stored rows that no longer decode (a damaged disk): every kind of replay skips them, reports
// each once where it stands in the delivery order, and delivers the rest. Before, a damaged row
// stopped a paged backlog for good, and failed a replay read whole (causal topics, replays from
// a timestamp) before it delivered anything.
#include "stream/consumer.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "../store/store_fixture.hpp"
#include "store/sqlite.hpp"
#include "stream/ingest.hpp"

namespace p2panda::stream {
namespace {

using test::ids;
using test::LogWriter;
using test::TempDir;

class ConsumerDamagedTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = test::open_store(dir_.file("db.sqlite")); }

  Operation store(const Operation& operation, bool causal = false) {
    auto result = store_->transact([&](store::StoreWriter& tx) {
      return check_and_ingest(tx, operation, topic_, {.causal = causal});
    });
    EXPECT_TRUE(result.has_value());
    return operation;
  }

  // Overwrites the stored headers of `operations` with bytes that do not decode.
  void damage(const std::vector<Operation>& operations) {
    auto raw = store::Connection::open(dir_.file("db.sqlite"));
    ASSERT_OK(raw);
    for (const auto& operation : operations) {
      ASSERT_OK((*raw)->exec("UPDATE operations SET header = x'00ff' WHERE id = x'" +
                             operation.id().to_hex() + "'"));
    }
  }

  // What the application sees, in order: deliveries and the damaged rows reported among them.
  struct Seen {
    std::vector<Hash> all;        // both, in order
    std::vector<Hash> delivered;  // deliveries only
  };
  Seen walk(Consumer& consumer) {
    Seen seen;
    const auto note_damaged = [&](const std::vector<Damaged>& damaged) {
      for (const auto& [entry, source] : damaged) {
        EXPECT_EQ(entry.error.code(), Errc::StoreCorrupt) << entry.error.to_string();
        EXPECT_TRUE(std::holds_alternative<FromLocalStore>(source));
        EXPECT_TRUE(entry.id.has_value());
        if (entry.id) seen.all.push_back(*entry.id);
      }
    };
    while (true) {
      auto next = consumer.next_delivery(0);
      note_damaged(consumer.damaged());
      EXPECT_TRUE(next.has_value()) << next.error().to_string();
      if (!next.has_value() || !next->has_value()) break;
      seen.all.push_back((*next)->operation.id());
      seen.delivered.push_back((*next)->operation.id());
      note_damaged((*next)->damaged_after);
    }
    EXPECT_TRUE(consumer.replay_done());
    EXPECT_TRUE(consumer.damaged().empty());
    return seen;
  }

  static std::vector<Operation> except(const std::vector<Operation>& operations,
                                       const std::vector<Operation>& left_out) {
    std::vector<Operation> out;
    for (const auto& operation : operations) {
      if (std::none_of(left_out.begin(), left_out.end(),
                       [&](const Operation& other) { return other.id() == operation.id(); })) {
        out.push_back(operation);
      }
    }
    return out;
  }

  TempDir dir_;
  Topic topic_ = Topic::random();
  std::unique_ptr<store::SqliteStore> store_;
};

// A paged backlog: first (nothing queued ahead of it), in the first page, across the first
// refill, last.
TEST_F(ConsumerDamagedTest, APagedReplayReportsItAndTheRestStillComes) {
  LogWriter alice(PrivateKey::generate(), topic_);
  std::vector<Operation> published;
  for (int i = 0; i < 20; ++i) published.push_back(store(alice.next()));
  const std::vector<Operation> damaged = {published[0], published[5], published[7],
                                          published[8], published[19]};
  damage(damaged);
  Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit, .max_queued = 8});
  ASSERT_OK(consumer.start(FromStart{}, 0));
  EXPECT_TRUE(consumer.backlogged());
  const Seen seen = walk(consumer);
  EXPECT_EQ(seen.delivered, ids(except(published, damaged)));
  EXPECT_EQ(seen.all, ids(published));  // each damaged one where it stands in its log
  EXPECT_FALSE(consumer.backlogged());
}

// A replay from a timestamp is read whole. A damaged row's time is unknown, so it is reported
// even where its neighbours are too old to deliver (here the one at seq 1).
TEST_F(ConsumerDamagedTest, AReplayFromATimestampReportsItAndDeliversTheRest) {
  LogWriter alice(PrivateKey::generate(), topic_);
  std::vector<Operation> published;
  for (int i = 0; i < 10; ++i) published.push_back(store(alice.next()));
  damage({published[1], published[4], published[9]});
  Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit});
  auto third = node_extensions(published[2].header());
  ASSERT_OK(third);
  auto replayed = consumer.start(FromTimestamp{third->timestamp}, 0);
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 9u);  // seq 2, 3, 5, 6, 7, 8, and the damaged 1, 4 and 9
  const Seen seen = walk(consumer);
  EXPECT_EQ(seen.delivered, ids({published[2], published[3], published[5], published[6],
                                 published[7], published[8]}));
  EXPECT_EQ(seen.all, ids({published[1], published[2], published[3], published[4], published[5],
                           published[6], published[7], published[8], published[9]}));
}

// A causal replay is put in order whole. Bob's entries depend on Alice's; damaged are Alice's
// first (nothing of her log before it), one in the middle of hers, and Bob's last.
TEST_F(ConsumerDamagedTest, ACausalReplayReportsItAndDeliversTheRestInOrder) {
  LogWriter alice(PrivateKey::generate(), topic_);
  LogWriter bob(PrivateKey::generate(), topic_);
  std::vector<Operation> alices, bobs;
  for (int i = 0; i < 5; ++i) {
    alices.push_back(store(alice.next(Body(Bytes{1}), false, std::vector<Hash>{}), true));
    bobs.push_back(
        store(bob.next(Body(Bytes{2}), false, std::vector<Hash>{alices.back().id()}), true));
  }
  const std::vector<Operation> damaged = {alices[0], alices[2], bobs[4]};
  damage(damaged);
  Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit, .causal = true});
  auto replayed = consumer.start(FromStart{}, 0);
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 10u);  // 7 that read, 3 damaged
  const Seen seen = walk(consumer);

  std::vector<Operation> all = alices;
  all.insert(all.end(), bobs.begin(), bobs.end());
  auto expected = ids(except(all, damaged));
  auto delivered = seen.delivered;
  std::sort(expected.begin(), expected.end());
  std::sort(delivered.begin(), delivered.end());
  EXPECT_EQ(delivered, expected);  // each one that reads, once
  ASSERT_EQ(seen.all.size(), all.size());  // and each damaged one, once
  EXPECT_EQ(std::set<Hash>(seen.all.begin(), seen.all.end()).size(), all.size());

  std::map<Hash, std::size_t> at;
  for (std::size_t i = 0; i < seen.all.size(); ++i) at[seen.all[i]] = i;
  const auto readable = [&](const Operation& operation) {
    return except({operation}, damaged).size() == 1;
  };
  for (std::size_t i = 0; i < 5; ++i) {
    // Each log in its own order, damaged rows too; dependencies first across authors (a damaged
    // row's dependencies are unknown).
    if (readable(alices[i]) && readable(bobs[i])) {
      EXPECT_LT(at[alices[i].id()], at[bobs[i].id()]) << i;
    }
    if (i > 0) {
      EXPECT_LT(at[alices[i - 1].id()], at[alices[i].id()]) << i;
      EXPECT_LT(at[bobs[i - 1].id()], at[bobs[i].id()]) << i;
    }
  }
}

// The gap a damaged row leaves in a causal replay: Alice's entry before it waits for Bob's, the
// one after it for nothing recorded. Her log must still come in order (acking a3 acks a1), with
// the report between a1 and a3.
TEST_F(ConsumerDamagedTest, ACausalReplayKeepsALogInOrderAcrossADamagedRow) {
  PrivateKey alice_key = PrivateKey::generate(), bob_key = PrivateKey::generate();
  // Alice's log is read first, as in the case that went wrong.
  if (bob_key.public_key() < alice_key.public_key()) std::swap(alice_key, bob_key);
  LogWriter alice(alice_key, topic_), bob(bob_key, topic_);
  const std::vector<Hash> none;
  const Operation a0 = store(alice.next(Body(Bytes{1}), false, none), true);
  const Operation b0 = store(bob.next(Body(Bytes{2}), false, std::vector<Hash>{a0.id()}), true);
  const Operation a1 = store(alice.next(Body(Bytes{3}), false, std::vector<Hash>{b0.id()}), true);
  const Operation a2 = store(alice.next(Body(Bytes{4}), false, none), true);
  const Operation a3 = store(alice.next(Body(Bytes{5}), false, none), true);
  const Operation a4 = store(alice.next(Body(Bytes{6}), false, none), true);
  damage({a2});
  Consumer consumer(*store_, topic_, {.ack_policy = AckPolicy::Explicit, .causal = true});
  ASSERT_OK(consumer.start(FromStart{}, 0));
  EXPECT_EQ(walk(consumer).all, ids({a0, b0, a1, a2, a3, a4}));
}

}  // namespace
}  // namespace p2panda::stream

// Crash safety (issue 3): the driver publishes and ingests into a file database and is killed with
// SIGKILL at random moments. After each kill the database must pass PRAGMA integrity_check, every
// log must be gap-free from its prune point, every operation the driver reported committed must
// be there (unless pruned since), and the causal orderer's state must be consistent.
//
// P2PANDA_CRASH_ROUNDS sets the number of rounds (default 100; e.g. 1000 for a long run),
// P2PANDA_SEED replays a run.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "../store/store_fixture.hpp"
#include "driver_process.hpp"

namespace p2panda::test {
namespace {

constexpr auto kRoundTimeout = std::chrono::seconds(20);
constexpr unsigned kMaxLinesBeforeKill = 300;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::strtoull(value, nullptr, 10) : fallback;
}

using LogKey = std::pair<PublicKey, LogId>;

struct Committed {
  LogKey log;
  std::uint32_t seq = 0;
};

// Everything the driver reported committed, in any round.
struct Ledger {
  std::unordered_map<Hash, Committed> by_id;
  std::map<std::pair<LogKey, std::uint32_t>, Hash> by_position;  // to spot forks
  std::uint64_t lines = 0;
  std::uint64_t pruned = 0;  // dropped from by_id: their logs were pruned past them
};

void record(Ledger& ledger, const std::string& line) {
  std::istringstream in(line);
  std::string tag, id_hex, author_hex, log_hex;
  std::uint32_t seq = 0;
  in >> tag >> id_hex >> author_hex >> log_hex >> seq;
  auto id = Hash::from_hex(id_hex);
  auto author = PublicKey::from_hex(author_hex);
  auto log = LogId::from_hex(log_hex);
  ASSERT_TRUE(tag == "C" && in && id && author && log) << "bad driver line: " << line;
  ++ledger.lines;
  const Committed committed{{*author, *log}, seq};
  auto [it, fresh] = ledger.by_id.emplace(*id, committed);
  ASSERT_TRUE(fresh || (it->second.log == committed.log && it->second.seq == seq))
      << "id " << id_hex << " reported at two positions";
  auto [at, added] = ledger.by_position.emplace(std::pair(committed.log, seq), *id);
  ASSERT_EQ(at->second, *id) << "two ids reported committed at seq " << seq << " of log " << log_hex
                             << " (a committed operation was lost and replaced)";
  (void)added;
}

// Runs the driver until it reported `kill_after` commits, kills it, and records every line it
// printed before dying.
void run_round(const std::string& db, std::uint64_t seed, unsigned kill_after, Ledger& ledger) {
  std::string error;
  auto driver = DriverProcess::spawn({CRASH_DRIVER, db, std::to_string(seed)}, error);
  ASSERT_TRUE(driver) << error;
  const auto deadline = DriverProcess::Clock::now() + kRoundTimeout;
  std::string line;
  for (unsigned seen = 0; seen < kill_after; ++seen) {
    const auto read = driver->read_line(line, deadline);
    ASSERT_EQ(read, DriverProcess::Read::Line)
        << "driver ended, timed out or failed (" << static_cast<int>(read) << ") after " << seen
        << " commits, wanted " << kill_after;
    ASSERT_NO_FATAL_FAILURE(record(ledger, line));
  }
  const int status = driver->kill_and_wait();
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "driver exited by itself, status " << status;
  // Lines still in the pipe were written before the kill, so they are commits too.
  while (true) {
    const auto read = driver->read_line(line, deadline);
    if (read == DriverProcess::Read::Eof) break;
    ASSERT_EQ(read, DriverProcess::Read::Line);
    ASSERT_NO_FATAL_FAILURE(record(ledger, line));
  }
  EXPECT_EQ(driver->partial(), "") << "torn line";
}

struct StoredOp {
  LogKey log;
  std::uint32_t seq = 0;
  Header header;
  NodeExtensions extensions;
};

struct Snapshot {
  std::unordered_map<Hash, StoredOp> operations;
  std::map<LogKey, std::map<std::uint32_t, Hash>> logs;
  std::unordered_set<Hash> ready;
  std::unordered_map<Hash, std::set<Hash>> pending;  // id -> dependencies it waits for
};

template <class T>
T blob(const store::Statement& row, int column) {
  auto value = T::from_bytes(row.column_blob(column));
  EXPECT_TRUE(value) << "column " << column << ": " << value.error().to_string();
  return value ? *value : T{};
}

void load(store::Connection& db, Snapshot& snapshot) {
  auto ops = db.prepare("SELECT id, author, log_id, seq_num, header FROM operations");
  ASSERT_OK(ops);
  while (true) {
    auto row = (*ops)->step();
    ASSERT_OK(row);
    if (!*row) break;
    const Hash id = blob<Hash>(**ops, 0);
    auto header = Header::decode((*ops)->column_blob(4));
    ASSERT_OK(header);
    ASSERT_EQ(Hash::digest((*ops)->column_blob(4)), id) << "header bytes do not hash to the id";
    auto extensions = node_extensions(*header);
    ASSERT_OK(extensions);
    StoredOp op{{blob<PublicKey>(**ops, 1), blob<LogId>(**ops, 2)},
                static_cast<std::uint32_t>((*ops)->column_int(3)),
                *header,
                *extensions};
    ASSERT_EQ(op.header.public_key, op.log.first);
    ASSERT_EQ(op.header.seq_num.value(), op.seq);
    ASSERT_EQ(op.extensions.log_id, op.log.second);
    snapshot.logs[op.log][op.seq] = id;
    snapshot.operations.emplace(id, std::move(op));
  }
  auto ready = db.prepare("SELECT id FROM orderer_ready");
  ASSERT_OK(ready);
  while (true) {
    auto row = (*ready)->step();
    ASSERT_OK(row);
    if (!*row) break;
    snapshot.ready.insert(blob<Hash>(**ready, 0));
  }
  auto pending = db.prepare("SELECT id, dependency FROM orderer_pending");
  ASSERT_OK(pending);
  while (true) {
    auto row = (*pending)->step();
    ASSERT_OK(row);
    if (!*row) break;
    snapshot.pending[blob<Hash>(**pending, 0)].insert(blob<Hash>(**pending, 1));
  }
}

// (b) every log is gap-free from its prune point, with intact backlinks; the store agrees.
void check_logs(store::Store& store, const Snapshot& snapshot) {
  for (const auto& [log_key, entries] : snapshot.logs) {
    const LogKey& key = log_key;  // clang before 16 cannot capture structured bindings
    const std::uint32_t lowest = entries.begin()->first;
    const std::uint32_t latest = entries.rbegin()->first;
    const std::string name =
        key.first.to_hex().substr(0, 8) + "/" + key.second.to_hex().substr(0, 8);
    ASSERT_EQ(entries.size(), latest - lowest + 1ULL) << "gap in log " << name;
    if (lowest > 0) {
      EXPECT_TRUE(snapshot.operations.at(entries.begin()->second).extensions.prune)
          << "log " << name << " starts at seq " << lowest << " without a prune operation";
    }
    for (auto it = std::next(entries.begin()); it != entries.end(); ++it) {
      EXPECT_EQ(snapshot.operations.at(it->second).header.backlink, std::prev(it)->second)
          << "broken backlink at seq " << it->first << " of log " << name;
    }
    auto store_lowest =
        store.query([&](store::StoreReader& r) { return r.lowest_seq(key.first, key.second); });
    auto store_latest =
        store.query([&](store::StoreReader& r) { return r.latest_entry(key.first, key.second); });
    ASSERT_OK(store_lowest);
    ASSERT_OK(store_latest);
    EXPECT_EQ(*store_lowest, std::optional(SeqNum(lowest)));
    ASSERT_TRUE(store_latest->has_value());
    EXPECT_EQ((*store_latest)->id(), entries.rbegin()->second);
  }
}

// (c) nothing reported committed is missing, unless its log was pruned past it. Pruned ones are
// dropped from the ledger (they cannot come back), which keeps long runs from slowing down.
void check_committed(const Snapshot& snapshot, Ledger& ledger) {
  std::uint64_t missing = 0;
  for (auto it = ledger.by_id.begin(); it != ledger.by_id.end();) {
    const auto& [id, committed] = *it;
    if (snapshot.operations.contains(id)) {
      ++it;
      continue;
    }
    auto log = snapshot.logs.find(committed.log);
    if (log != snapshot.logs.end() && committed.seq < log->second.begin()->first) {
      ++ledger.pruned;
      it = ledger.by_id.erase(it);
      continue;
    }
    if (++missing <= 5) {
      ADD_FAILURE() << "committed operation " << id.to_hex() << " (seq " << committed.seq
                    << ") is missing";
    }
    ++it;
  }
  EXPECT_EQ(missing, 0u) << "committed operations missing after the kill";
}

// (d) the orderer's tables agree with each other and with the operations.
void check_orderer(store::Store& store, const Snapshot& snapshot) {
  for (const Hash& id : snapshot.ready) {
    EXPECT_TRUE(snapshot.operations.contains(id)) << "ready " << id.to_hex() << " not stored";
  }
  for (const auto& [id, waits_for] : snapshot.pending) {
    EXPECT_FALSE(snapshot.ready.contains(id)) << id.to_hex() << " is both ready and pending";
    auto op = snapshot.operations.find(id);
    if (op == snapshot.operations.end()) {
      ADD_FAILURE() << "pending " << id.to_hex() << " not stored";
      continue;
    }
    // It waits for exactly its dependencies that have not been released: those recorded, and
    // the previous entry of its log (the driver's causal logs are never pruned).
    std::vector<Hash> dependencies = op->second.extensions.dependencies;
    if (op->second.header.backlink) dependencies.push_back(*op->second.header.backlink);
    std::set<Hash> unreleased;
    for (const Hash& dependency : dependencies) {
      if (!snapshot.ready.contains(dependency)) unreleased.insert(dependency);
    }
    EXPECT_EQ(waits_for, unreleased) << "pending " << id.to_hex() << " waits for the wrong ids";
  }
  // Every causal operation was ordered in its ingest transaction: released or held back, and
  // released only after everything it depends on.
  for (const auto& [id, op] : snapshot.operations) {
    if (op.extensions.variant != NodeExtensions::Variant::Causal) continue;
    const bool ready = snapshot.ready.contains(id);
    EXPECT_NE(ready, snapshot.pending.contains(id)) << id.to_hex() << ": ready xor pending";
    if (!ready) continue;
    for (const Hash& dependency : op.extensions.dependencies) {
      EXPECT_TRUE(snapshot.ready.contains(dependency))
          << id.to_hex() << " released before its dependency " << dependency.to_hex();
    }
    if (op.header.backlink) {
      EXPECT_TRUE(snapshot.ready.contains(*op.header.backlink))
          << id.to_hex() << " released before the previous entry of its log";
    }
  }
  auto count = store.query([](store::StoreReader& r) { return r.orderer_pending_count(); });
  ASSERT_OK(count);
  EXPECT_EQ(*count, snapshot.pending.size());
}

struct Stats {
  std::uint64_t rounds_with_pending = 0;
  std::size_t max_pending = 0;
  std::size_t stored = 0;
  std::size_t pruned_logs = 0;
};

void check_database(const std::string& path, Ledger& ledger, Stats& stats) {
  auto store = store::SqliteStore::open({.url = path});
  ASSERT_OK(store);
  auto integrity = (*store)->integrity_check();
  ASSERT_OK(integrity);
  ASSERT_EQ(*integrity, "ok");  // (a)
  Snapshot snapshot;
  {
    auto raw = store::Connection::open(path, /*read_only=*/true);
    ASSERT_OK(raw);
    ASSERT_NO_FATAL_FAILURE(load(**raw, snapshot));
  }
  ASSERT_NO_FATAL_FAILURE(check_logs(**store, snapshot));
  check_committed(snapshot, ledger);
  ASSERT_NO_FATAL_FAILURE(check_orderer(**store, snapshot));
  (*store)->close();
  stats.rounds_with_pending += !snapshot.pending.empty();
  stats.max_pending = std::max(stats.max_pending, snapshot.pending.size());
  stats.stored = snapshot.operations.size();
  stats.pruned_logs = 0;
  for (const auto& [key, entries] : snapshot.logs) stats.pruned_logs += entries.begin()->first > 0;
}

TEST(Crash, SurvivesSigkillAtRandomMoments) {
  const std::uint64_t seed = env_or("P2PANDA_SEED", std::random_device{}());
  const std::uint64_t rounds = env_or("P2PANDA_CRASH_ROUNDS", 100);
  std::cout << "[ crash    ] seed " << seed << ", " << rounds
            << " rounds (replay: P2PANDA_SEED=" << seed << ")" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  TempDir dir;
  const std::string db = dir.file("crash.sqlite");
  std::mt19937_64 rng(seed);
  Ledger ledger;
  Stats stats;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t round = 0;
  for (; round < rounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", P2PANDA_SEED=" + std::to_string(seed));
    const auto kill_after = static_cast<unsigned>(1 + rng() % kMaxLinesBeforeKill);
    ASSERT_NO_FATAL_FAILURE(run_round(db, seed, kill_after, ledger));
    ASSERT_NO_FATAL_FAILURE(check_database(db, ledger, stats));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::uint64_t distinct = ledger.by_id.size() + ledger.pruned;
  std::cout << "[ crash    ] " << round << " rounds in " << seconds << " s: " << ledger.lines
            << " commit lines, " << distinct << " distinct operations (" << ledger.pruned
            << " pruned since), " << stats.stored << " stored, " << stats.pruned_logs
            << " logs pruned, pending in " << stats.rounds_with_pending << " rounds (max "
            << stats.max_pending << ")" << std::endl;
  if (HasFailure()) return;
  EXPECT_GE(distinct, round) << "some round committed nothing";
  if (rounds >= 20) {  // a shorter run may not get far enough for these
    EXPECT_GE(distinct, rounds * 50) << "the driver made too little progress";
    EXPECT_GT(ledger.pruned, 0u) << "pruning was never exercised";
    EXPECT_GT(stats.rounds_with_pending, 0u) << "the orderer never held back an operation";
  }
}

}  // namespace
}  // namespace p2panda::test

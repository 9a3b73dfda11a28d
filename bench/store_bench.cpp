// Storage scenarios (issue 3), as one program that prints and records its figures:
//   ingest_ops_s        100k signed operations with 256-byte bodies ingested into a file database
//                       through the node's IngestQueue (signatures verified on `ingest_cores`
//                       threads, topics taking turns, answers on an io_context as on the node
//                       thread);
//   ingest_limit_ops_s  the lower of the raw libsodium verify rate times ingest_cores and a raw
//                       batched SQLite insert rate, both measured in this run;
//   ingest_vs_limit     their ratio (goal >= 0.8);
//   log_read_ops_s      reading one log back in order (goal >= 500,000);
//   open_1m_heights_ms  opening a database holding 1M operations and answering one topic's log
//                       heights (goal < 200). The 1M database is built once and cached under
//                       build/bench-data/.
// Usage: store_bench [--results FILE] [--operations N]
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "figures.hpp"
#include "node/ingest_queue.hpp"
#include "store/sqlite_store.hpp"

namespace p2panda::bench {
namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

// `count` operations in logs of `per_log` entries, authors and topics spread so that many logs
// interleave, as sync would deliver them.
std::vector<std::pair<Operation, Topic>> make_operations(std::size_t count, std::size_t per_log) {
  const std::size_t logs = std::max<std::size_t>(1, count / per_log);
  std::vector<PrivateKey> keys;
  std::vector<Topic> topics;
  std::vector<std::optional<Hash>> latest(logs);
  for (std::size_t i = 0; i < logs; ++i) {
    keys.push_back(PrivateKey::generate());
    topics.push_back(Topic::random());
  }
  std::vector<std::pair<Operation, Topic>> operations;
  operations.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t log = i % logs;
    Bytes body(256, static_cast<std::uint8_t>(i));
    Operation operation = create_node_operation(
        keys[log], {.topic = topics[log],
                    .seq_num = SeqNum(static_cast<std::uint32_t>(i / logs)),
                    .backlink = latest[log],
                    .timestamp = Timestamp(1'700'000'000'000'000ULL + i),
                    .body = Body(std::move(body))});
    latest[log] = operation.id();
    operations.emplace_back(std::move(operation), topics[log]);
  }
  return operations;
}

double raw_verify_rate(const std::vector<std::pair<Operation, Topic>>& operations) {
  std::vector<Bytes> messages;
  for (std::size_t i = 0; i < 2000; ++i) {
    messages.push_back(operations[i % operations.size()].first.header().encode_unsigned());
  }
  std::size_t done = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < 1.0) {
    for (std::size_t i = 0; i < 200; ++i, ++done) {
      const Header& header = operations[done % messages.size()].first.header();
      if (!header.public_key.verify(messages[done % messages.size()], *header.signature)) {
        std::fprintf(stderr, "verify failed\n");
      }
    }
  }
  return static_cast<double>(done) / seconds_since(start);
}

// Plain SQLite: prepared INSERT of the same row shapes, 1,000 rows per transaction, WAL, NORMAL.
double raw_insert_rate(const std::vector<std::pair<Operation, Topic>>& operations,
                       const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
               "CREATE TABLE t (id BLOB PRIMARY KEY, author BLOB, log_id BLOB, seq INTEGER,"
               " header BLOB, header_size INTEGER, payload_size INTEGER, body BLOB);"
               "CREATE UNIQUE INDEX t_log ON t (author, log_id, seq);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &insert, nullptr);
  const auto start = Clock::now();
  for (std::size_t i = 0; i < operations.size(); ++i) {
    if (i % 1000 == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    const Operation& operation = operations[i].first;
    const LogId log = LogId::from_topic(operations[i].second);
    sqlite3_bind_blob(insert, 1, operation.id().data(), 32, SQLITE_STATIC);
    sqlite3_bind_blob(insert, 2, operation.author().data(), 32, SQLITE_STATIC);
    sqlite3_bind_blob(insert, 3, log.data(), 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 4, operation.seq_num().value());
    sqlite3_bind_blob(insert, 5, operation.header_bytes().data(),
                      static_cast<int>(operation.header_bytes().size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert, 6, static_cast<sqlite3_int64>(operation.header_bytes().size()));
    sqlite3_bind_int64(insert, 7, operation.header().payload_size);
    sqlite3_bind_blob(insert, 8, operation.body()->bytes().data(),
                      static_cast<int>(operation.body()->size()), SQLITE_STATIC);
    sqlite3_step(insert);
    sqlite3_reset(insert);
    if (i % 1000 == 999 || i + 1 == operations.size()) {
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    }
  }
  const double rate = static_cast<double>(operations.size()) / seconds_since(start);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return rate;
}

double ingest_rate(const std::vector<std::pair<Operation, Topic>>& operations,
                   const std::string& path, std::size_t cores) {
  auto store = store::SqliteStore::open({.url = path});
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().to_string().c_str());
    return 0;
  }
  // This thread plays the node thread: the answers come here, and it keeps kWindow operations
  // waiting for theirs, as sync sessions bound what they push.
  constexpr std::size_t kWindow = 8192;
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  auto completions = std::make_shared<node::Completions>(io.get_executor());
  std::size_t inserted = 0, other = 0, answered = 0, next = 0;
  const auto start = Clock::now();
  {
    node::IngestQueue queue(**store, completions, true, cores);
    auto answer = [&](const Operation&, Result<stream::IngestResult> result) {
      ++answered;
      if (result && std::holds_alternative<stream::Inserted>(result->outcome)) {
        ++inserted;
      } else {
        ++other;
      }
    };
    while (answered < operations.size()) {
      for (; next < operations.size() && next - answered < kWindow; ++next) {
        queue.push({operations[next].second, operations[next].first, false, answer});
      }
      io.run_one();
    }
    queue.shutdown();
  }
  const double rate = static_cast<double>(inserted) / seconds_since(start);
  if (other != 0) std::fprintf(stderr, "ingest: %zu operations not inserted\n", other);
  return rate;
}

double log_read_rate(const std::string& path, const PublicKey& author, const LogId& log) {
  auto store = store::SqliteStore::open({.url = path});
  if (!store) return 0;
  std::size_t read = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < 1.0) {
    auto entries = (*store)->query([&](store::StoreReader& tx) {
      return tx.log_entries(author, log, std::nullopt, std::nullopt);
    });
    if (!entries || entries->empty()) return 0;
    read += entries->size();
  }
  return static_cast<double>(read) / seconds_since(start);
}

}  // namespace p2panda::bench

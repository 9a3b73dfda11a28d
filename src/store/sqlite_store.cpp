#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <future>

#include "core/thread_name.hpp"
#include "core/try.hpp"
#include "store/schema.hpp"
#include "store/sqlite_tx.hpp"

namespace p2panda::store {
namespace {

Result<void> configure(Connection& connection, bool file, bool synchronous_full) {
  if (file) {
    P2PANDA_TRY(statement, connection.prepare("PRAGMA journal_mode = WAL"));
    P2PANDA_TRY(row, statement->step());
    if (!row || statement->column_text(0) != "wal") {
      return fail(Errc::StoreFailed, "could not switch the database to WAL mode");
    }
  }
  P2PANDA_CHECK(connection.exec(synchronous_full ? "PRAGMA synchronous = FULL"
                                                 : "PRAGMA synchronous = NORMAL"));
  P2PANDA_CHECK(connection.exec("PRAGMA foreign_keys = ON"));
  // Savepoint journals (one per job in a shared batch) stay in memory instead of spilling into
  // temporary files; a job's journal is at most the pages it changes.
  return connection.exec("PRAGMA temp_store = MEMORY");
}

// How long the writer must find no work before it finishes a large WAL's checkpoint itself (two
// fsyncs): gaps between batches under load are far shorter.
constexpr auto kQuietMoment = std::chrono::milliseconds(50);

bool in_transaction(const Connection& connection) {
  return sqlite3_get_autocommit(connection.handle()) == 0;
}

}  // namespace

std::string database_path(const std::string& url) {
  std::string path = url;
  for (const char* prefix : {"sqlite://", "sqlite:"}) {
    if (path.rfind(prefix, 0) == 0) {
      path = path.substr(std::string(prefix).size());
      break;
    }
  }
  if (path.empty() || path == ":memory:") return {};
  return path;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(StoreOptions options) {
  const std::string path = database_path(options.url);
  P2PANDA_TRY(writer, Connection::open(path.empty() ? ":memory:" : path));
  P2PANDA_CHECK(configure(*writer, !path.empty(), options.synchronous_full));
  P2PANDA_CHECK(migrate(*writer));
  if (options.max_size_bytes > 0) {
    P2PANDA_TRY(page_size, writer->query_int("PRAGMA page_size"));
    const auto pages = std::max<std::uint64_t>(1, options.max_size_bytes / page_size);
    P2PANDA_CHECK(writer->exec("PRAGMA max_page_count = " + std::to_string(pages)));
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(options), path, std::move(writer)));
}

SqliteStore::SqliteStore(StoreOptions options, std::string path,
                         std::unique_ptr<Connection> writer)
    : options_(std::move(options)), path_(std::move(path)), writer_(std::move(writer)) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  if (options_.readers == 0) options_.readers = 1;
  if (!path_.empty() && options_.checkpoint_pages > 0) {
    checkpointer_ = std::make_unique<Checkpointer>(path_, options_.synchronous_full,
                                                   options_.checkpoint_pages);
    checkpointer_->attach(writer_->handle());
  }
  writer_thread_ = std::thread([this] {
    detail::name_this_thread("p2panda-store");
    writer_loop();
  });
  writer_id_ = writer_thread_.get_id();
}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  {
    std::lock_guard lock(mutex_);
    if (closing_ && !writer_thread_.joinable()) return;
    closing_ = true;
  }
  wake_writer_.notify_all();
  if (writer_thread_.joinable() && std::this_thread::get_id() != writer_id_) {
    writer_thread_.join();
  }
  if (checkpointer_) checkpointer_->stop();
}

void SqliteStore::submit(WriteJob job, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!closing_) {
      queue_.push_back(Job{std::move(job), std::move(done)});
      wake_writer_.notify_one();
      return;
    }
  }
  done(fail(Errc::StoreClosed, "the store is closed"));
}

Result<void> SqliteStore::write(WriteJob job) {
  if (std::this_thread::get_id() == writer_id_) {
    return fail(Errc::InvalidArgument, "Store::write called from inside a store job");
  }
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  submit(std::move(job), [&promise](Result<void> result) { promise.set_value(std::move(result)); });
  return future.get();
}

Result<void> SqliteStore::read(ReadJob job) {
  if (in_memory()) return write([&job](StoreWriter& writer) { return job(writer); });
  P2PANDA_TRY(reader, take_reader());
  Result<void> result = reader->run("BEGIN");
  if (result) {
    SqliteTx tx(*reader);
    result = job(tx);
    if (in_transaction(*reader)) (void)reader->run("COMMIT");
  }
  return_reader(std::move(reader));
  return result;
}

Result<std::unique_ptr<Connection>> SqliteStore::take_reader() {
  std::unique_lock lock(readers_mutex_);
  reader_returned_.wait(lock, [this] {
    return !idle_readers_.empty() || open_readers_ < options_.readers;
  });
  if (!idle_readers_.empty()) {
    auto reader = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    return reader;
  }
  ++open_readers_;
  lock.unlock();
  auto reader = Connection::open(path_, /*read_only=*/true);
  if (!reader) {
    std::lock_guard relock(readers_mutex_);
    --open_readers_;
    reader_returned_.notify_one();
  }
  return reader;
}

void SqliteStore::return_reader(std::unique_ptr<Connection> reader) {
  {
    std::lock_guard lock(readers_mutex_);
    idle_readers_.push_back(std::move(reader));
  }
  reader_returned_.notify_one();
}

void SqliteStore::writer_loop() {
  std::vector<Job> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      const auto work = [this] { return !queue_.empty() || closing_; };
      // Quiet for a moment with a large WAL: finish its checkpoint now, while nothing waits (again
      // after each moment while a background pass keeps it busy).
      while (checkpointer_ && checkpointer_->wants_quiet() &&
             !wake_writer_.wait_for(lock, kQuietMoment, work)) {
        lock.unlock();
        checkpointer_->writer_quiet(writer_->handle());
        lock.lock();
      }
      wake_writer_.wait(lock, work);
      if (queue_.empty()) break;  // closing, and everything queued is done
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    run_batch(batch);
    batch.clear();
  }
}

void SqliteStore::run_batch(std::vector<Job>& batch) {
  SqliteTx tx(*writer_);
  std::vector<Result<void>> results;
  results.reserve(batch.size());
  // Index of the first job whose writes belong to the open transaction.
  std::size_t transaction_start = 0;
  // Cached statements (Connection::run): parsing these four for every batch showed up in
  // profiles of publishing (docs/benchmarks.md).
  Result<void> begun = writer_->run("BEGIN IMMEDIATE");
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!in_transaction(*writer_)) {
      // Not begun, or SQLite rolled the whole transaction back after an I/O error or a full
      // disk: the jobs since the last begin lost their writes. Report that, start afresh.
      const Error lost = begun ? Error(Errc::StoreFailed, "transaction rolled back by SQLite")
                               : begun.error();
      for (std::size_t k = transaction_start; k < i; ++k) {
        if (results[k]) results[k] = Unexpected{lost};
      }
      transaction_start = i;
      begun = writer_->run("BEGIN IMMEDIATE");
      if (!begun) {
        results.push_back(Unexpected{begun.error()});
        continue;
      }
    }
    // A job alone in its batch needs no savepoint: rolling the transaction back undoes exactly
    // it. A savepoint journals every page the job changes first, in a temporary file once past
    // 64 KiB (open, write, unlink per batch: a tenth of the writer's time when publishing).
    const bool alone = batch.size() == 1;
    Result<void> savepoint = alone ? Result<void>{} : writer_->run("SAVEPOINT job");
    Result<void> result = savepoint ? batch[i].run(tx) : savepoint;
    if (in_transaction(*writer_)) {
      if (alone) {
        if (!result) (void)writer_->exec("ROLLBACK");
      } else {
        if (!result) (void)writer_->exec("ROLLBACK TO job");
        (void)writer_->run("RELEASE job");
      }
    } else if (result) {
      result = fail(Errc::StoreFailed, "transaction rolled back by SQLite during the job");
    }
    results.push_back(std::move(result));
  }
  if (in_transaction(*writer_)) {
    Result<void> committed = writer_->run("COMMIT");
    if (!committed) {
      (void)writer_->exec("ROLLBACK");
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
      for (std::size_t k = transaction_start; k < results.size(); ++k) {
        if (results[k]) results[k] = Unexpected{committed.error()};
      }
    } else {
      commits_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  jobs_.fetch_add(batch.size(), std::memory_order_relaxed);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].done) batch[i].done(std::move(results[i]));
  }
}

StoreStats SqliteStore::stats() const {
  return StoreStats{commits_.load(), jobs_.load(), failed_commits_.load(),
                    checkpointer_ ? checkpointer_->stats() : CheckpointStats{}};
}

Result<std::string> SqliteStore::integrity_check() {
  std::string report;
  auto run = [&report](Connection& connection) -> Result<void> {
    P2PANDA_TRY(statement, connection.prepare("PRAGMA integrity_check"));
    while (true) {
      P2PANDA_TRY(row, statement->step());
      if (!row) break;
      if (!report.empty()) report += "\n";
      report += statement->column_text(0);
    }
    return {};
  };
  if (in_memory()) {
    P2PANDA_CHECK(write([&](StoreWriter&) { return run(*writer_); }));
  } else {
    P2PANDA_TRY(reader, take_reader());
    auto checked = run(*reader);
    return_reader(std::move(reader));
    P2PANDA_CHECK(checked);
  }
  return report;
}

}  // namespace p2panda::store

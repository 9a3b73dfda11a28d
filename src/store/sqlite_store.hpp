// SqliteStore: the Store on SQLite. In memory by default, a file when the options name one.
//
// Threads: one writer thread owns the write connection and runs write jobs in batches, one
// transaction per batch with a savepoint per job (group commit: many small writes share one
// commit and one fsync, and a failing job rolls back only itself). File databases use WAL mode
// and a small pool of reader connections, so reads run concurrently with writes and see only
// committed data; a checkpointer thread copies the WAL back into the database. In-memory
// databases run reads on the writer thread (a private in-memory database has only one
// connection). All methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/checkpointer.hpp"
#include "store/sqlite.hpp"
#include "store/store.hpp"

namespace p2panda::store {

struct StoreOptions {
  // ":memory:" (default), a file path, or a URL "sqlite:PATH" / "sqlite://PATH" /
  // "sqlite::memory:" as p2panda's database_url takes.
  std::string url = ":memory:";
  // PRAGMA synchronous: NORMAL (durable across process crashes; the last commits may be lost on
  // power loss) or FULL (fsync on every commit).
  bool synchronous_full = false;
  std::size_t max_batch = 1024;  // write jobs per transaction
  // Upper bound on the database size (0: none). Writes past it fail with StoreFull, like a full
  // disk, and change nothing.
  std::uint64_t max_size_bytes = 0;
  std::size_t readers = 2;       // reader connections (file databases only)
  // File databases: WAL size in pages after which a checkpoint copies it back into the database,
  // on a thread of its own (checkpointer.hpp) so that commits never wait for its fsyncs.
  std::uint32_t checkpoint_pages = 1000;
};

struct StoreStats {
  std::uint64_t commits = 0;
  std::uint64_t jobs = 0;
  std::uint64_t failed_commits = 0;
  CheckpointStats checkpoints;  // file databases only
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the database, applies migrations and starts the writer thread.
  // Errors: StoreOpenFailed (cannot create or open the file: missing or read-only directory),
  // StoreReadOnly, StoreCorrupt (not a database, or damaged), StoreSchemaTooNew, StoreFull.
  static Result<std::unique_ptr<SqliteStore>> open(StoreOptions options = {});
  ~SqliteStore() override;

  void submit(WriteJob job, Done done) override;
  Result<void> write(WriteJob job) override;
  Result<void> read(ReadJob job) override;
  void close() override;

  StoreStats stats() const;
  bool in_memory() const { return path_.empty(); }

  // Runs PRAGMA integrity_check on a reader (or the writer). Returns "ok" or SQLite's findings.
  Result<std::string> integrity_check();

 private:
  struct Job {
    WriteJob run;
    Done done;
  };

  SqliteStore(StoreOptions options, std::string path, std::unique_ptr<Connection> writer);
  void writer_loop();
  void run_batch(std::vector<Job>& batch);
  Result<std::unique_ptr<Connection>> take_reader();
  void return_reader(std::unique_ptr<Connection> reader);

  StoreOptions options_;
  std::string path_;  // empty for in-memory
  std::unique_ptr<Connection> writer_;
  // Declared after writer_ so that it closes first: the writer's connection, closing last, runs
  // SQLite's final checkpoint and removes the WAL.
  std::unique_ptr<Checkpointer> checkpointer_;  // file databases only

  mutable std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::deque<Job> queue_;
  bool closing_ = false;
  std::thread writer_thread_;
  std::thread::id writer_id_;

  std::mutex readers_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
  std::size_t open_readers_ = 0;

  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> jobs_{0};
  std::atomic<std::uint64_t> failed_commits_{0};
};

// Normalises a database URL to what sqlite3_open takes; empty for in-memory.
std::string database_path(const std::string& url);

}  // namespace p2panda::store

// Checkpointer: copies a file database's WAL back into the database on a thread of its own.
//
// Why: SQLite's default checkpoints run on the connection that commits, after the commit that
// passed 1,000 WAL pages, and a checkpoint waits for fsync twice (the WAL, then the database).
// On the writer thread every write queued behind it waited too: with 32 publishes in flight the
// writer was blocked in those fsyncs about a third of its time (docs/benchmarks.md, "Latest
// (2026-12-06)"). Here the writer only notes the WAL's size after each commit (a WAL hook) and
// wakes this thread, whose own connection runs PASSIVE checkpoints: they copy what is committed
// without taking the write lock, so commits go on meanwhile. Durability is unchanged: commits never depended on checkpoints (synchronous=NORMAL
// syncs the WAL at checkpoints, FULL at every commit as well).
//
// SQLite restarts the WAL only after a checkpoint that caught up with the last commit, which a
// background checkpoint never quite does while commits keep coming. So the writer finishes the
// job itself (finish_on_writer in the .cpp): when it has been quiet for a moment with the WAL
// past 4x the threshold, or, under a load that never lets it idle, past 8x. The WAL stays bounded.
//
// A failed checkpoint (a full disk, say) loses nothing: the pages stay in the WAL, readers still
// see them, and the next commit past the threshold tries again. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <p2panda/result.hpp>

#include "store/sqlite.hpp"

namespace p2panda::store {

struct CheckpointStats {
  std::uint64_t runs = 0;      // background checkpoints completed (whole WAL or part of it)
  std::uint64_t by_writer = 0; // checkpoints the writer finished itself, so the WAL restarts
  std::uint64_t failures = 0;  // checkpoints that returned an error (the WAL keeps the pages)
  std::string last_error;      // the latest failure's text, for diagnostics
};

class Checkpointer {
 public:
  // `pages`: WAL size (in pages) after a commit that asks for a checkpoint.
  Checkpointer(std::string path, bool synchronous_full, std::uint32_t pages);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installs the WAL hook on the writer's connection (replacing SQLite's own autocheckpoint).
  // REQUIRES: called once, before the writer commits, from the thread that owns `writer`.
  void attach(sqlite3* writer);
  // Whether the WAL is large enough that the writer, once quiet, should finish its checkpoint.
  bool wants_quiet() const;
  // The writer has had no work for a moment: finishes the checkpoint so the WAL restarts.
  // Both: on the writer's thread only, outside a transaction.
  void writer_quiet(sqlite3* writer);
  // Stops the thread after the checkpoint in progress, if any. Idempotent.
  void stop();

  CheckpointStats stats() const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  static constexpr std::uint32_t kQuietLimit = 4;  // x pages_: finish once the writer is quiet
  static constexpr std::uint32_t kHardLimit = 8;   // x pages_: finish after this commit
  // A WAL frame of the default 4 KiB page (the schema never changes it) and its header.
  static constexpr std::uint64_t kFrameBytes = 4096 + 24;
  void request(std::uint32_t wal_pages);
  void finish_on_writer(sqlite3* writer, bool must);
  void run();
  Result<void> checkpoint_once();

  const std::string path_;
  const bool synchronous_full_;
  const std::uint32_t pages_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable pass_done_;
  bool requested_ = false;
  bool passing_ = false;           // a background pass is running
  bool writer_finishing_ = false;  // the writer waits to finish: start no pass meanwhile
  std::uint32_t next_request_;  // WAL size that asks for the next background pass
  std::uint32_t wal_pages_ = 0;  // as of the last commit; the writer's thread only
  bool stopping_ = false;
  CheckpointStats stats_;
  std::thread thread_;  // started on the first request: a database that stays small has none
  std::unique_ptr<Connection> connection_;  // the thread's own; opened on first use
};

}  // namespace p2panda::store

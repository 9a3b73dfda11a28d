#include "store/checkpointer.hpp"

#include <sqlite3.h>

#include <string>

#include "core/thread_name.hpp"

namespace p2panda::store {

Checkpointer::Checkpointer(std::string path, bool synchronous_full, std::uint32_t pages)
    : path_(std::move(path)),
      synchronous_full_(synchronous_full),
      pages_(pages),
      next_request_(pages) {}

Checkpointer::~Checkpointer() { stop(); }

void Checkpointer::attach(sqlite3* writer) {
  sqlite3_wal_hook(writer, &on_commit, this);
  // SQLite cuts a restarted WAL file back to this size. Above the hard limit, so that it never
  // does in normal use: truncating frees the blocks, and on a file system mounted with
  // `discard` that waits for the device (it showed as the writer's longest stalls).
  const std::uint64_t bytes = std::uint64_t{pages_} * (kHardLimit + 1) * kFrameBytes;
  sqlite3_exec(writer, ("PRAGMA journal_size_limit = " + std::to_string(bytes)).c_str(), nullptr,
               nullptr, nullptr);
}

// On the writer thread, after each commit, with the WAL's size in pages: asks the background
// for a pass, or, past the hard limit, checkpoints here (see finish_on_writer).
int Checkpointer::on_commit(void* self, sqlite3* db, const char*, int wal_pages) {
  auto* checkpointer = static_cast<Checkpointer*>(self);
  const auto pages = static_cast<std::uint32_t>(wal_pages);
  checkpointer->wal_pages_ = pages;
  if (pages >= checkpointer->pages_ * kHardLimit) {
    checkpointer->finish_on_writer(db, /*must=*/true);
  } else if (pages < checkpointer->pages_) {
    // The WAL started afresh: the next background pass is due at the threshold again.
    std::lock_guard lock(checkpointer->mutex_);
    checkpointer->next_request_ = checkpointer->pages_;
  } else {
    checkpointer->request(pages);
  }
  return SQLITE_OK;
}

bool Checkpointer::wants_quiet() const { return wal_pages_ >= pages_ * kQuietLimit; }

void Checkpointer::writer_quiet(sqlite3* writer) {
  if (wants_quiet()) finish_on_writer(writer, /*must=*/false);
}

// The background checkpoint is PASSIVE, so while commits keep coming it never quite catches up,
// and SQLite starts the WAL afresh only after a checkpoint that did. This one, on the writer's
// connection between transactions, copies what the background left (little: it ran every
// `pages_`) and lets the next commit restart the WAL. It waits for two fsyncs, which is why it
// runs only when the writer has been quiet for a moment, or when the WAL passed the hard limit
// under a load that leaves the writer no quiet moment. Quiet: if a background pass is running
// (BUSY), the next quiet moment tries again. Hard limit: it waits for that pass to end and keeps
// the next one from starting, so the WAL never grows much past the limit.
void Checkpointer::finish_on_writer(sqlite3* writer, bool must) {
  if (must) {
    std::unique_lock lock(mutex_);
    writer_finishing_ = true;
    pass_done_.wait(lock, [this] { return !passing_; });
  }
  const int code =
      sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  std::lock_guard lock(mutex_);
  writer_finishing_ = false;
  if (code == SQLITE_OK) {
    wal_pages_ = 0;  // everything is copied; the next commit restarts the WAL
    ++stats_.by_writer;
  } else if (code != SQLITE_BUSY) {
    // Not again until the next commit reports the WAL's size: a quiet writer would otherwise
    // retry a failing checkpoint (a full disk) every moment.
    wal_pages_ = 0;
    ++stats_.failures;
    stats_.last_error = sqlite_error(code, "checkpoint", writer).to_string();
  }
}

void Checkpointer::request(std::uint32_t wal_pages) {
  std::lock_guard lock(mutex_);
  // One pass per `pages_` of WAL growth: passes back to back would hold SQLite's checkpoint lock
  // nearly all the time, and the writer's own checkpoint above would always find it taken.
  if (stopping_ || requested_ || wal_pages < next_request_) return;
  requested_ = true;
  next_request_ = wal_pages + pages_;
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      detail::name_this_thread("p2panda-ckpt");
      run();
    });
  } else {
    wake_.notify_one();
  }
}

void Checkpointer::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_one();
  if (thread.joinable()) thread.join();
  connection_.reset();
}

CheckpointStats Checkpointer::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Checkpointer::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return requested_ || stopping_; });
    if (stopping_) return;
    // Requests during this checkpoint ask for another one after it: the WAL grew meanwhile.
    requested_ = false;
    if (writer_finishing_) continue;  // the writer is about to copy everything itself
    passing_ = true;
    lock.unlock();
    const Result<void> done = checkpoint_once();
    lock.lock();
    passing_ = false;
    pass_done_.notify_all();
    if (done) {
      ++stats_.runs;
    } else {
      ++stats_.failures;
      stats_.last_error = done.error().to_string();
    }
  }
}

Result<void> Checkpointer::checkpoint_once() {
  if (!connection_) {
    auto opened = Connection::open(path_);
    if (!opened) return Unexpected{std::move(opened).error()};
    // The checkpoint's fsyncs follow this connection's setting, so it matches the writer's.
    auto configured = (*opened)->exec(synchronous_full_ ? "PRAGMA synchronous = FULL"
                                                        : "PRAGMA synchronous = NORMAL");
    if (!configured) return configured;
    connection_ = std::move(*opened);
  }
  // PASSIVE: copies what no reader still needs, never waits for a lock, never blocks a commit.
  // Frames committed meanwhile are left for the next one.
  const int code = sqlite3_wal_checkpoint_v2(connection_->handle(), nullptr,
                                             SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  // BUSY: another checkpoint is running (SQLite's own at close); nothing is wrong.
  if (code != SQLITE_OK && code != SQLITE_BUSY) {
    return Unexpected{sqlite_error(code, "checkpoint", connection_->handle())};
  }
  return {};
}

}  // namespace p2panda::store

// The checkpointer (src/store/checkpointer.hpp): checkpoints run beside the writer, and the WAL
// stays bounded however long writes keep coming.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "store_fixture.hpp"

namespace p2panda::store {
namespace {

using namespace std::chrono_literals;
using test::LogWriter;
using test::TempDir;

constexpr std::uint64_t kFrameBytes = 4096 + 24;  // a WAL frame: page and frame header

std::uint64_t file_size_or_zero(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : size;
}

// Queues `count` single-operation jobs at once and waits for all of them; `after_each` runs on
// the writer thread after every job.
Result<void> write_many(SqliteStore& store, LogWriter& writer, int count,
                        const std::function<void()>& after_each) {
  std::atomic<int> left{count};
  std::atomic<bool> failed{false};
  std::promise<void> all_done;
  for (int i = 0; i < count; ++i) {
    Operation operation = writer.next(Body(Bytes(200, 5)));
    store.submit(
        [operation = std::move(operation), log = writer.log()](StoreWriter& tx) -> Result<void> {
          auto inserted = tx.insert_operation(operation, log);
          if (!inserted) return Unexpected{inserted.error()};
          return {};
        },
        [&](Result<void> result) {
          if (!result) failed = true;
          after_each();
          if (left.fetch_sub(1) == 1) all_done.set_value();
        });
  }
  all_done.get_future().wait();
  if (failed) return fail(Errc::StoreFailed, "a write failed");
  return {};
}

std::uint64_t stored(SqliteStore& store, const LogWriter& writer) {
  auto size = store.query([&](StoreReader& tx) {
    return tx.log_size(writer.author(), writer.log(), std::nullopt, std::nullopt);
  });
  return size ? size->operations : ~0ULL;
}

TEST(Checkpointer, KeepsTheWalBoundedWhileWritesNeverStop) {
  TempDir dir;
  const std::string path = dir.file("busy.sqlite");
  // Four jobs per commit: thousands of commits with no pause between them, so the writer is
  // never quiet and only the hard limit (8 x 64 pages) can let the WAL restart.
  auto store = SqliteStore::open({.url = path, .max_batch = 4, .checkpoint_pages = 64});
  ASSERT_OK(store);
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::uint64_t largest_wal = 0;
  ASSERT_OK(write_many(**store, writer, 4000, [&] {
    largest_wal = std::max(largest_wal, file_size_or_zero(path + "-wal"));
  }));
  const auto stats = (*store)->stats();
  EXPECT_GT(stats.checkpoints.runs, 0u) << "no background checkpoint ran";
  EXPECT_GT(stats.checkpoints.by_writer, 0u) << "the WAL never restarted";
  EXPECT_EQ(stats.checkpoints.failures, 0u) << stats.checkpoints.last_error;
  // Without the writer's share the WAL grows with every commit (~12,000 pages here): the
  // background's PASSIVE checkpoints never catch up with a writer that does not pause.
  EXPECT_LE(largest_wal, (8 * 64 + 64) * kFrameBytes) << "largest WAL: " << largest_wal;
  EXPECT_EQ(stored(**store, writer), 4000u);
  auto check = (*store)->integrity_check();
  ASSERT_OK(check);
  EXPECT_EQ(*check, "ok");
}

TEST(Checkpointer, FinishesTheCheckpointOnceTheWriterIsQuiet) {
  TempDir dir;
  const std::string path = dir.file("quiet.sqlite");
  // 1,000 pages per background pass; the writer finishes once quiet with 4,000 or more in the
  // WAL, and the hard limit (8,000) is not reached here (~6,000 pages).
  auto store = SqliteStore::open({.url = path, .max_batch = 1, .checkpoint_pages = 1000});
  ASSERT_OK(store);
  LogWriter writer(PrivateKey::generate(), Topic::random());
  ASSERT_OK(write_many(**store, writer, 2000, [] {}));
  const auto wal = file_size_or_zero(path + "-wal");
  ASSERT_GT(wal, 4000 * kFrameBytes)
      << "the test needs a WAL past 4x the threshold, not " << wal / kFrameBytes << " pages";
  ASSERT_LT(wal, 8000 * kFrameBytes) << "past the hard limit: the writer finished on a commit";
  // Nothing is written now: the writer is quiet and finishes the checkpoint by itself.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((*store)->stats().checkpoints.by_writer == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  const auto stats = (*store)->stats();
  EXPECT_EQ(stats.checkpoints.by_writer, 1u);
  EXPECT_GT(stats.checkpoints.runs, 0u);
  EXPECT_EQ(stored(**store, writer), 2000u);
}

}  // namespace
}  // namespace p2panda::store

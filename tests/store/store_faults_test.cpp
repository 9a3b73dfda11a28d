// Bad environments: a database from the future, a corrupted file, a read-only directory, a full
// disk. Each gives a clear error, no crash, and leaves earlier data intact.
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>

#include "store/sqlite.hpp"
#include "store_fixture.hpp"

namespace p2panda::store {
namespace {

using test::LogWriter;
using test::TempDir;

Result<void> insert_all(Store& store, const std::vector<Operation>& operations, const LogId& log) {
  return store.write([&](StoreWriter& tx) -> Result<void> {
    for (const auto& operation : operations) {
      auto inserted = tx.insert_operation(operation, log);
      if (!inserted) return Unexpected{inserted.error()};
    }
    return {};
  });
}

std::uint64_t count(Store& store, const LogWriter& writer) {
  auto size = store.query([&](StoreReader& tx) {
    return tx.log_size(writer.author(), writer.log(), std::nullopt, std::nullopt);
  });
  return size ? size->operations : ~0ULL;
}

// A small tmpfs mounted for one test and detached when it ends. Needs root (CI has it).
class Tmpfs {
 public:
  Tmpfs(const TempDir& dir, const char* options) : path_(dir.file("tmpfs")) {
    std::filesystem::create_directory(path_);
    mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, options) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

TEST(StoreFaults, RefusesASchemaFromTheFuture) {
  TempDir dir;
  const std::string path = dir.file("future.sqlite");
  { ASSERT_NE(test::open_store(path), nullptr); }
  {
    auto connection = Connection::open(path);
    ASSERT_OK(connection);
    ASSERT_OK((*connection)->exec("PRAGMA user_version = 999"));
  }
  auto store = SqliteStore::open({.url = path});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Errc::StoreSchemaTooNew);
  EXPECT_NE(store.error().message().find("999"), std::string::npos);
}

TEST(StoreFaults, MigratesAnOlderSchema) {
  TempDir dir;
  const std::string path = dir.file("old.sqlite");
  {
    auto connection = Connection::open(path);  // version 0: an empty database
    ASSERT_OK(connection);
  }
  auto store = SqliteStore::open({.url = "sqlite://" + path});
  ASSERT_OK(store);
  auto connection = Connection::open(path, true);
  ASSERT_OK(connection);
  auto version = (*connection)->query_int("PRAGMA user_version");
  ASSERT_OK(version);
  EXPECT_GE(*version, 1);
}

TEST(StoreFaults, ReportsACorruptedFile) {
  TempDir dir;
  const std::string path = dir.file("corrupt.sqlite");
  std::ofstream(path) << std::string(8192, 'x');
  auto store = SqliteStore::open({.url = path});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Errc::StoreCorrupt) << store.error().to_string();
}

TEST(StoreFaults, ReportsDamageInsideADatabase) {
  TempDir dir;
  const std::string path = dir.file("damaged.sqlite");
  LogWriter writer(PrivateKey::generate(), Topic::random());
  {
    auto store = test::open_store(path);
    std::vector<Operation> operations;
    for (int i = 0; i < 200; ++i) operations.push_back(writer.next(Body(Bytes(300, 1))));
    ASSERT_OK(insert_all(*store, operations, writer.log()));
  }
  {
    // Overwrite pages in the middle of the file (after the WAL was checkpointed on close).
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096 * 3);
    const std::string garbage(4096 * 4, '\xa5');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto store = SqliteStore::open({.url = path});
  if (!store) {
    EXPECT_EQ(store.error().code(), Errc::StoreCorrupt) << store.error().to_string();
    return;
  }
  auto check = (*store)->integrity_check();
  auto entries = (*store)->query([&](StoreReader& tx) {
    return tx.log_entries(writer.author(), writer.log(), std::nullopt, std::nullopt);
  });
  // Either reading fails with a clear error, or the integrity check reports the damage.
  const bool reported = !entries.has_value() || !check.has_value() || *check != "ok";
  EXPECT_TRUE(reported);
  if (!entries) {
    EXPECT_EQ(entries.error().code(), Errc::StoreCorrupt) << entries.error().to_string();
  }
}

TEST(StoreFaults, ReportsAReadOnlyDirectory) {
  if (::geteuid() == 0) {
    // root ignores directory permissions; use a path under a file instead, which fails the same
    // way for everyone.
    TempDir dir;
    std::ofstream(dir.file("not-a-dir")) << "x";
    auto store = SqliteStore::open({.url = dir.file("not-a-dir") + "/db.sqlite"});
    ASSERT_FALSE(store.has_value());
    EXPECT_EQ(store.error().code(), Errc::StoreOpenFailed) << store.error().to_string();
    return;
  }
  TempDir dir;
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_exec);
  auto store = SqliteStore::open({.url = dir.file("db.sqlite")});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), Errc::StoreOpenFailed) << store.error().to_string();
}

TEST(StoreFaults, ReadOnlyFilesystemRefusesWritesAndKeepsData) {
  TempDir dir;
  Tmpfs tmpfs(dir, "size=1m");
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << tmpfs.error();
  const std::string& mount_point = tmpfs.path();
  LogWriter writer(PrivateKey::generate(), Topic::random());
  {
    auto store = test::open_store(mount_point + "/db.sqlite");
    ASSERT_NE(store, nullptr);
    ASSERT_OK(insert_all(*store, {writer.next()}, writer.log()));
  }
  // Remount read-only: a directory nobody, root included, can write to.
  ASSERT_EQ(::mount(nullptr, mount_point.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  auto store = SqliteStore::open({.url = mount_point + "/db.sqlite"});
  if (store) {
    EXPECT_EQ(count(**store, writer), 1u);  // what was there is still readable
    auto write = insert_all(**store, {writer.next()}, writer.log());
    ASSERT_FALSE(write.has_value());
    EXPECT_TRUE(write.error().code() == Errc::StoreReadOnly ||
                write.error().code() == Errc::StoreOpenFailed)
        << write.error().to_string();
  } else {
    EXPECT_TRUE(store.error().code() == Errc::StoreReadOnly ||
                store.error().code() == Errc::StoreOpenFailed ||
                store.error().code() == Errc::StoreIo)
        << store.error().to_string();
  }
  auto fresh = SqliteStore::open({.url = mount_point + "/other.sqlite"});
  ASSERT_FALSE(fresh.has_value());
  EXPECT_TRUE(fresh.error().code() == Errc::StoreOpenFailed ||
              fresh.error().code() == Errc::StoreReadOnly)
      << fresh.error().to_string();
}

TEST(StoreFaults, SizeLimitActsLikeAFullDiskAndKeepsEarlierData) {
  TempDir dir;
  auto store = SqliteStore::open({.url = dir.file("small.sqlite"), .max_size_bytes = 256 * 1024});
  ASSERT_OK(store);
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> first;
  for (int i = 0; i < 20; ++i) first.push_back(writer.next(Body(Bytes(1000, 2))));
  ASSERT_OK(insert_all(**store, first, writer.log()));
  std::vector<Operation> too_much;
  for (int i = 0; i < 400; ++i) too_much.push_back(writer.next(Body(Bytes(1000, 3))));
  auto full = insert_all(**store, too_much, writer.log());
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code(), Errc::StoreFull) << full.error().to_string();
  EXPECT_EQ(count(**store, writer), 20u);  // nothing of the failed job, everything before it
  auto check = (*store)->integrity_check();
  ASSERT_OK(check);
  EXPECT_EQ(*check, "ok");
}

TEST(StoreFaults, FullTmpfsKeepsEarlierData) {
  TempDir dir;
  Tmpfs tmpfs(dir, "size=512k");
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << tmpfs.error();
  const std::string& mount_point = tmpfs.path();
  LogWriter writer(PrivateKey::generate(), Topic::random());
  std::vector<Operation> first;
  for (int i = 0; i < 20; ++i) first.push_back(writer.next(Body(Bytes(1000, 2))));
  {
    auto store = test::open_store(mount_point + "/db.sqlite");
    ASSERT_NE(store, nullptr);
    ASSERT_OK(insert_all(*store, first, writer.log()));
    Result<void> last;
    for (int batch = 0; batch < 50 && last; ++batch) {
      std::vector<Operation> more;
      for (int i = 0; i < 50; ++i) more.push_back(writer.next(Body(Bytes(1000, 3))));
      last = insert_all(*store, more, writer.log());
    }
    ASSERT_FALSE(last.has_value()) << "the 512 KiB tmpfs never filled up";
    EXPECT_TRUE(last.error().code() == Errc::StoreFull || last.error().code() == Errc::StoreIo)
        << last.error().to_string();
    EXPECT_GE(count(*store, writer), 20u);
  }
  // Reopened (read-only: the disk is still full), the first operations are all there.
  auto reopened = SqliteStore::open({.url = mount_point + "/db.sqlite"});
  if (reopened) {
    EXPECT_GE(count(**reopened, writer), 20u);
    auto check = (*reopened)->integrity_check();
    ASSERT_OK(check);
    EXPECT_EQ(*check, "ok");
  } else {
    EXPECT_TRUE(reopened.error().code() == Errc::StoreFull ||
                reopened.error().code() == Errc::StoreIo)
        << reopened.error().to_string();
  }
}

}  // namespace
}  // namespace p2panda::store

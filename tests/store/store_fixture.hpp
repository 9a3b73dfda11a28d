// Shared helpers for store and stream tests: temporary directories, signed operations.
#pragma once

#include <p2panda/extensions.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite_store.hpp"
#include "../core/test_util.hpp"

namespace p2panda::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "p2panda-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ignored);
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The ids of `operations`, in order.
inline std::vector<Hash> ids(const std::vector<Operation>& operations) {
  std::vector<Hash> out;
  for (const auto& operation : operations) out.push_back(operation.id());
  return out;
}

// One author's log in one topic, appended to in order.
class LogWriter {
 public:
  LogWriter(PrivateKey key, Topic topic) : key_(std::move(key)), topic_(topic) {}

  Operation next(std::optional<Body> body = Body(Bytes(32, 7)), bool prune = false,
                 std::optional<std::vector<Hash>> dependencies = std::nullopt) {
    Operation operation = create_node_operation(
        key_, {.topic = topic_,
               .seq_num = SeqNum(seq_),
               .backlink = latest_,
               .timestamp = Timestamp(1'700'000'000'000'000ULL + seq_),
               .prune = prune,
               .body = std::move(body),
               .dependencies = std::move(dependencies)});
    latest_ = operation.id();
    ++seq_;
    return operation;
  }

  const PublicKey& author() const { return key_.public_key(); }
  const Topic& topic() const { return topic_; }
  LogId log() const { return LogId::from_topic(topic_); }

 private:
  PrivateKey key_;
  Topic topic_;
  std::uint32_t seq_ = 0;
  std::optional<Hash> latest_;
};

// A real store that fails blocking writes or reads on demand (a full disk, an I/O error).
class FlakyStore : public store::Store {
 public:
  explicit FlakyStore(store::Store& inner) : inner_(inner) {}
  bool fail_writes = false;
  bool fail_reads = false;

  void submit(WriteJob job, Done done) override { inner_.submit(std::move(job), std::move(done)); }
  Result<void> write(WriteJob job) override {
    if (fail_writes) return fail(Errc::StoreIo, "injected write failure");
    return inner_.write(std::move(job));
  }
  Result<void> read(ReadJob job) override {
    if (fail_reads) return fail(Errc::StoreIo, "injected read failure");
    return inner_.read(std::move(job));
  }
  void close() override { inner_.close(); }

 private:
  store::Store& inner_;
};

inline std::unique_ptr<store::SqliteStore> open_store(const std::string& url = ":memory:") {
  auto store = store::SqliteStore::open({.url = url});
  if (!store) {
    ADD_FAILURE() << store.error().to_string();
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace p2panda::test

// crash_driver DB_PATH SEED: the process crash_test kills with SIGKILL. Until it is killed it
// publishes operations of three local authors into two topics (every ~20th one prunes its log) and
// ingests causal operations of three "remote" authors into a third topic in a shuffled order, all
// into one file database. Once a job's transaction has committed it writes
// `C <id> <author> <log id> <seq>` to stdout with a single write(2), so every line the test has
// read names an operation that must survive the kill.
//
// The work depends only on SEED and on what the database already holds, so each restart continues
// the same logs: local logs from their latest entries, remote logs from the first epoch that is not
// complete. Remote epochs are fixed by SEED and the epoch number alone, so an operation that was
// held back before a crash gets the same dependencies, with the same ids, after it.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <p2panda/extensions.hpp>
#include <random>
#include <string>
#include <vector>

#include "store/sqlite_store.hpp"
#include "stream/ingest.hpp"

namespace p2panda::crash {
namespace {

constexpr std::size_t kLocalAuthors = 3;
constexpr std::size_t kLocalTopics = 2;
constexpr std::size_t kRemoteAuthors = 3;
constexpr std::uint32_t kEpochOps = 8;    // operations per remote author and epoch
constexpr std::size_t kMaxInFlight = 64;  // submitted jobs not yet reported
constexpr unsigned kPruneEvery = 20;
constexpr std::uint64_t kBaseTime = 1'700'000'000'000'000ULL;

[[noreturn]] void die(const std::string& message) {
  const std::string line = "crash_driver: " + message + "\n";
  (void)!::write(2, line.data(), line.size());
  std::_Exit(3);
}

template <class T>
T must(Result<T> result, const std::string& what) {
  if (!result) die(what + ": " + result.error().to_string());
  return std::move(*result);
}

PrivateKey key(std::uint8_t fill) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(fill);
  return must(PrivateKey::from_bytes(seed), "key");
}

Topic topic(std::uint8_t fill) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(fill);
  return Topic(bytes);
}

// 32 bytes that depend only on the inputs, so bodies and prune flags are the same after a restart.
Hash derive(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  Hasher hasher;
  for (std::uint64_t value : {seed, a, b, c}) {
    std::array<std::uint8_t, 8> le{};
    for (std::size_t i = 0; i < le.size(); ++i) le[i] = static_cast<std::uint8_t>(value >> (8 * i));
    hasher.update(le);
  }
  return hasher.finalize();
}

std::uint64_t first_word(const Hash& hash) {
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < 8; ++i) word |= std::uint64_t{hash.array()[i]} << (8 * i);
  return word;
}

// Submits ingest jobs, bounds how many are in flight and reports each commit on stdout.
class Committer {
 public:
  explicit Committer(store::Store& store) : store_(store) {}

  void submit(Operation operation, const Topic& topic, bool causal) {
    {
      std::unique_lock lock(mutex_);
      room_.wait(lock, [this] { return in_flight_ < kMaxInFlight; });
      ++in_flight_;
    }
    auto slot = std::make_shared<Slot>(Slot{std::move(operation), topic, causal, std::nullopt});
    store_.submit(
        [slot](store::StoreWriter& writer) -> Result<void> {
          auto result = stream::check_and_ingest(writer, slot->operation, slot->topic,
                                                 {.causal = slot->causal});
          if (!result) return Unexpected{std::move(result).error()};
          slot->outcome = std::move(result->outcome);
          return {};
        },
        [this, slot](const Result<void>& done) { report(*slot, done); });
  }

 private:
  struct Slot {
    Operation operation;
    Topic topic;
    bool causal;
    std::optional<stream::IngestOutcome> outcome;
  };

  // Runs on the writer thread, after the commit.
  void report(const Slot& slot, const Result<void>& done) {
    const Operation& op = slot.operation;
    if (!done) die("job for " + op.id().to_hex() + " failed: " + done.error().to_string());
    if (auto* rejected = std::get_if<stream::Rejected>(&*slot.outcome)) {
      die("operation " + op.id().to_hex() + " rejected: " + rejected->reason.to_string());
    }
    const std::string line = "C " + op.id().to_hex() + " " + op.author().to_hex() + " " +
                             LogId::from_topic(slot.topic).to_hex() + " " +
                             std::to_string(op.seq_num().value()) + "\n";
    if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      die("short write to stdout");
    }
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    room_.notify_one();
  }

  store::Store& store_;
  std::mutex mutex_;
  std::condition_variable room_;
  std::size_t in_flight_ = 0;
};

// One local author's log in one topic, continued from the store.
struct LocalLog {
  PrivateKey key;
  Topic topic;
  std::uint64_t domain;  // distinguishes the logs in derive()
  std::uint32_t next_seq = 0;
  std::optional<Hash> backlink;
};

std::vector<LocalLog> load_local_logs(store::Store& store) {
  std::vector<LocalLog> logs;
  for (std::size_t a = 0; a < kLocalAuthors; ++a) {
    for (std::size_t t = 0; t < kLocalTopics; ++t) {
      LocalLog log{.key = key(static_cast<std::uint8_t>(a + 1)),
                   .topic = topic(static_cast<std::uint8_t>(0xA0 + t)),
                   .domain = a * kLocalTopics + t,
                   .next_seq = 0,
                   .backlink = std::nullopt};
      auto latest = must(store.query([&](store::StoreReader& reader) {
        return reader.latest_entry(log.key.public_key(), LogId::from_topic(log.topic));
      }),
                         "latest_entry");
      if (latest) {
        log.next_seq = latest->seq_num().value() + 1;
        log.backlink = latest->id();
      }
      logs.push_back(std::move(log));
    }
  }
  return logs;
}

Operation next_local(LocalLog& log, std::uint64_t seed) {
  const Hash mix = derive(seed, log.domain, log.next_seq, 0);
  const bool prune = log.next_seq > 0 && mix.array()[31] % kPruneEvery == 0;
  Operation operation =
      create_node_operation(log.key, {.topic = log.topic,
                                      .seq_num = SeqNum(log.next_seq),
                                      .backlink = log.backlink,
                                      .timestamp = Timestamp(kBaseTime + log.next_seq),
                                      .prune = prune,
                                      .body = Body(ByteSpan(mix.data(), 16))});
  log.backlink = operation.id();
  ++log.next_seq;
  return operation;
}

// The remote authors' causal operations, one epoch (kEpochOps per author) at a time: generated
// in a random order, each depending on the other authors' heads at that moment, then ingested in
// another random order that keeps each author's log order, so dependencies often arrive late.
class RemoteTraffic {
 public:
  RemoteTraffic(store::Store& store, std::uint64_t seed) : topic_(topic(0xB0)), seed_(seed) {
    for (std::size_t a = 0; a < kRemoteAuthors; ++a) {
      keys_.push_back(key(static_cast<std::uint8_t>(0x51 + a)));
    }
    heads_.resize(kRemoteAuthors);
    resume(store);
  }

  const Topic& topic_id() const { return topic_; }
  std::uint64_t epoch() const { return epoch_; }

  Operation next() {
    if (queue_.empty()) generate_epoch();
    Operation operation = std::move(queue_.front());
    queue_.pop_front();
    return operation;
  }

 private:
  // Jobs commit in submission order, so every epoch before the first incomplete one is stored.
  void resume(store::Store& store) {
    const LogId log = LogId::from_topic(topic_);
    std::uint64_t complete = std::numeric_limits<std::uint64_t>::max();
    for (const PrivateKey& k : keys_) {
      auto latest = must(store.query([&](store::StoreReader& reader) {
        return reader.latest_entry(k.public_key(), log);
      }),
                         "latest_entry");
      const std::uint64_t stored = latest ? latest->seq_num().value() + 1ULL : 0;
      complete = std::min(complete, stored / kEpochOps);
    }
    epoch_ = complete;
    if (epoch_ == 0) return;
    const auto last = static_cast<std::uint32_t>(epoch_ * kEpochOps - 1);
    for (std::size_t a = 0; a < kRemoteAuthors; ++a) {
      auto entries = must(store.query([&](store::StoreReader& reader) {
        return reader.log_entries(keys_[a].public_key(), log,
                                  last == 0 ? std::nullopt : std::optional(SeqNum(last - 1)),
                                  SeqNum(last));
      }),
                          "log_entries");
      if (entries.size() != 1)
        die("remote log " + std::to_string(a) + " misses seq " + std::to_string(last));
      heads_[a] = entries[0].id();
    }
  }

  void generate_epoch() {
    std::mt19937_64 rng(first_word(derive(seed_, 0x1000, epoch_, 0)));
    std::vector<std::deque<Operation>> by_author(kRemoteAuthors);
    for (std::uint32_t i = 0; i < kRemoteAuthors * kEpochOps; ++i) {
      std::vector<std::size_t> open;
      for (std::size_t a = 0; a < kRemoteAuthors; ++a) {
        if (by_author[a].size() < kEpochOps) open.push_back(a);
      }
      const std::size_t a = open[rng() % open.size()];
      const auto seq = static_cast<std::uint32_t>(epoch_ * kEpochOps + by_author[a].size());
      std::vector<Hash> dependencies;
      for (std::size_t b = 0; b < kRemoteAuthors; ++b) {
        if (b != a && heads_[b]) dependencies.push_back(*heads_[b]);
      }
      const Hash mix = derive(seed_, 0x2000 + a, seq, 0);
      Operation operation =
          create_node_operation(keys_[a], {.topic = topic_,
                                           .seq_num = SeqNum(seq),
                                           .backlink = heads_[a],
                                           .timestamp = Timestamp(kBaseTime + seq),
                                           .body = Body(ByteSpan(mix.data(), 16)),
                                           .dependencies = std::move(dependencies)});
      heads_[a] = operation.id();
      by_author[a].push_back(std::move(operation));
    }
    while (queue_.size() < kRemoteAuthors * kEpochOps) {
      std::vector<std::size_t> open;
      for (std::size_t a = 0; a < kRemoteAuthors; ++a) {
        if (!by_author[a].empty()) open.push_back(a);
      }
      const std::size_t a = open[rng() % open.size()];
      queue_.push_back(std::move(by_author[a].front()));
      by_author[a].pop_front();
    }
    ++epoch_;
  }

  Topic topic_;
  std::uint64_t seed_;
  std::vector<PrivateKey> keys_;
  std::vector<std::optional<Hash>> heads_;
  std::uint64_t epoch_ = 0;  // the next epoch to generate
  std::deque<Operation> queue_;
};

[[noreturn]] void run(const std::string& path, std::uint64_t seed) {
  auto store = must(store::SqliteStore::open({.url = path}), "open " + path);
  Committer committer(*store);
  std::vector<LocalLog> locals = load_local_logs(*store);
  RemoteTraffic remote(*store, seed);

  // The mix of work differs between restarts but follows from SEED and the database.
  std::uint64_t state = remote.epoch();
  for (const LocalLog& log : locals) state = state * 1'000'003 + log.next_seq;
  std::mt19937_64 rng(first_word(derive(seed, 0x3000, state, 0)));
  while (true) {
    if (rng() % 3 == 0) {
      committer.submit(remote.next(), remote.topic_id(), /*causal=*/true);
    } else {
      LocalLog& log = locals[rng() % locals.size()];
      committer.submit(next_local(log, seed), log.topic, /*causal=*/false);
    }
  }
}

}  // namespace
}  // namespace p2panda::crash

int main(int argc, char** argv) {
  if (argc != 3) {
    const std::string usage = "usage: crash_driver DB_PATH SEED\n";
    (void)!::write(2, usage.data(), usage.size());
    return 2;
  }
  p2panda::crash::run(argv[1], std::strtoull(argv[2], nullptr, 10));
}

// Crash recovery of a whole node (issue 6): "a node process killed with SIGKILL mid-stream gets
// every unacked operation again on restart and no acked one".
//
// A peer node in this process keeps publishing into a topic over QUIC on 127.0.0.1, before,
// during and after each kill. node_crash_driver runs the subscribing node on a file database with
// a fixed key and journals what it processes (node_journal.hpp says what is checked). Each round
// starts the driver, waits for "ready" and a random number of processed operations, waits a
// random few microseconds more and kills it; then the database must pass integrity_check and the
// journal the delivery checks. Some rounds kill during startup (store open, replay, the first
// sync) and some leave the driver dead for a while, so the restart syncs and replays a backlog.
// A last run, not killed, consumes up to the peer's last operation: every operation published
// is stored and was delivered, with the right id.
//
// P2PANDA_NODE_CRASH_ROUNDS sets the rounds per ack policy (default 16), P2PANDA_SEED replays one.
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "../store/store_fixture.hpp"
#include "driver_process.hpp"
#include "node/config.hpp"
#include "node_journal.hpp"

namespace p2panda::test {
namespace {

using namespace std::chrono_literals;
using Clock = DriverProcess::Clock;

constexpr auto kStartTimeout = 15s;  // spawn, open the store, replay (ASan is slow)
constexpr auto kLineTimeout = 10s;   // between processed operations while the peer publishes
constexpr unsigned kMaxProcessedBeforeKill = 40;
constexpr unsigned kMaxExtraMicros = 3000;
constexpr auto kPublishPace = 2ms;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::strtoull(value, nullptr, 10) : fallback;
}

// The peer: a node with an in-memory store publishing "m<n>" into the topic until stopped, paced
// so the driver (one fsync per operation) keeps up and every round finds new operations arriving.
class PeerPublisher {
 public:
  explicit PeerPublisher(const Topic& topic) {
    auto node = builder().bind_v4("127.0.0.1").spawn_blocking();
    EXPECT_TRUE(node) << node.error().to_string();
    if (!node) return;
    node_.emplace(std::move(*node));
    auto stream = node_->stream_blocking<std::string>(topic);
    EXPECT_TRUE(stream) << stream.error().to_string();
    if (!stream) return;
    stream_.emplace(std::move(*stream));
    thread_ = std::thread([this] { publish_loop(); });
  }
  ~PeerPublisher() {
    stop();
    if (node_) node_->shutdown();
  }

  bool ok() const { return thread_.joinable() || stopped_; }
  const NodeId& id() const { return node_->id(); }
  std::string address() const { return node_->addresses().at(0); }

  // Stops publishing; returns every published id, by seq.
  std::vector<Hash> stop() {
    stopped_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    return ids_;
  }
  std::size_t published() {
    std::lock_guard lock(mutex_);
    return ids_.size();
  }
  std::string error() {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  void publish_loop() {
    for (std::uint64_t n = 0; !stopped_; ++n) {
      auto id = stream_->publisher.publish_blocking("m" + std::to_string(n));
      std::lock_guard lock(mutex_);
      if (!id) {
        error_ = id.error().to_string();
        return;
      }
      ids_.push_back(*id);
      std::this_thread::sleep_for(kPublishPace);  // load pacing, not a wait for anything
    }
  }

  std::optional<Node> node_;
  std::optional<Stream<std::string>> stream_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::vector<Hash> ids_;
  std::string error_;
};

struct DriverArgs {
  std::string db, journal, key_hex, topic_hex, peer_hex, peer_address, mode;
};

std::unique_ptr<DriverProcess> start_driver(const DriverArgs& setup,
                                            std::optional<std::uint64_t> until) {
  std::vector<std::string> argv{NODE_CRASH_DRIVER,  setup.db,        setup.journal,
                                setup.key_hex,      setup.topic_hex, setup.peer_hex,
                                setup.peer_address, setup.mode};
  if (until) argv.push_back(std::to_string(*until));
  std::string error;
  auto driver = DriverProcess::spawn(argv, error);
  EXPECT_TRUE(driver) << error;
  return driver;
}

void expect_line(DriverProcess& driver, const std::string& prefix, Clock::time_point deadline,
                 const std::string& what) {
  std::string line;
  const auto read = driver.read_line(line, deadline);
  ASSERT_EQ(read, DriverProcess::Read::Line)
      << "waiting for " << what << ": driver ended, timed out or failed (" << static_cast<int>(read)
      << ")";
  ASSERT_EQ(line.rfind(prefix, 0), 0u) << "waiting for " << what << ", got: " << line;
}

// When a round kills the driver, and how long it stays dead while the peer keeps publishing.
struct Round {
  bool during_startup = false;            // kill at `extra` after the spawn, ready or not
  unsigned processed = 0;                 // else: after "ready" and this many operations
  std::chrono::microseconds extra{0};     // ... and this much longer
  std::chrono::milliseconds downtime{0};  // then a backlog builds up before the restart
};

Round random_round(std::mt19937_64& rng) {
  Round round;
  round.during_startup = rng() % 8 == 0;
  round.processed = static_cast<unsigned>(rng() % (kMaxProcessedBeforeKill + 1));
  round.extra =
      std::chrono::microseconds(rng() % (round.during_startup ? 30'000 : kMaxExtraMicros));
  round.downtime = std::chrono::milliseconds(rng() % 4 == 0 ? rng() % 150 : 0);
  return round;
}

// The random moments below are sleeps on purpose: they choose when to kill, nothing waits on them.
void run_and_kill(const DriverArgs& setup, const Round& round) {
  auto driver = start_driver(setup, std::nullopt);
  ASSERT_TRUE(driver);
  if (!round.during_startup) {
    ASSERT_NO_FATAL_FAILURE(expect_line(*driver, "ready", Clock::now() + kStartTimeout, "ready"));
    for (unsigned i = 0; i < round.processed; ++i) {
      ASSERT_NO_FATAL_FAILURE(
          expect_line(*driver, "P ", Clock::now() + kLineTimeout, "processed operation"));
    }
  }
  std::this_thread::sleep_for(round.extra);
  const int status = driver->kill_and_wait();
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "driver exited by itself, status " << status;
  std::this_thread::sleep_for(round.downtime);
}

void expect_intact(const std::string& db) {
  auto store = store::SqliteStore::open({.url = db});
  ASSERT_OK(store);
  auto integrity = (*store)->integrity_check();
  ASSERT_OK(integrity);
  EXPECT_EQ(*integrity, "ok");
  (*store)->close();
}

// The driver's store holds exactly the peer's log, 0..published-1.
void expect_stored(const std::string& db, const NodeId& peer, const Topic& topic,
                   const std::vector<Hash>& published) {
  auto store = store::SqliteStore::open({.url = db});
  ASSERT_OK(store);
  auto entries = (*store)->query([&](store::StoreReader& reader) {
    return reader.log_entries(peer, LogId::from_topic(topic), std::nullopt,
                              SeqNum(static_cast<std::uint32_t>(published.size() + 100)));
  });
  ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), published.size()) << "the driver's store lacks operations";
  for (std::size_t i = 0; i < published.size(); ++i) {
    EXPECT_EQ((*entries)[i].id(), published[i]) << "stored seq " << i;
  }
  (*store)->close();
}

class NodeCrash : public testing::TestWithParam<AckPolicy> {};

TEST_P(NodeCrash, SigkillMidStreamRedeliversUnackedAndNoAcked) {
  const AckPolicy policy = GetParam();
  const std::uint64_t seed = env_or("P2PANDA_SEED", std::random_device{}());
  const std::uint64_t rounds = env_or("P2PANDA_NODE_CRASH_ROUNDS", 16);
  std::cout << "[ node crash ] seed " << seed << ", " << rounds
            << " rounds (replay: P2PANDA_SEED=" << seed << ")" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  const auto start = Clock::now();

  TempDir dir;
  const Topic topic = Topic::random();
  PeerPublisher peer(topic);
  ASSERT_TRUE(peer.ok());
  const DriverArgs setup{dir.file("node.sqlite"),
                         dir.file("journal"),
                         PrivateKey::generate().to_hex(),
                         topic.to_hex(),
                         peer.id().to_hex(),
                         peer.address(),
                         policy == AckPolicy::Explicit ? "explicit" : "automatic"};
  JournalCheck journal(setup.journal, peer.id(), policy, NodeConfig{}.subscription_window);

  for (std::uint64_t round = 0; round < rounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", P2PANDA_SEED=" + std::to_string(seed));
    ASSERT_NO_FATAL_FAILURE(run_and_kill(setup, random_round(rng)));
    ASSERT_NO_FATAL_FAILURE(expect_intact(setup.db));
    ASSERT_NO_FATAL_FAILURE(journal.consume());
  }
  ASSERT_FALSE(HasFailure());

  // The peer stops; a last run must catch up with all of it and exit by itself.
  const std::vector<Hash> published = peer.stop();
  ASSERT_EQ(peer.error(), "");
  ASSERT_FALSE(published.empty());
  {
    auto driver = start_driver(setup, published.size() - 1);
    ASSERT_TRUE(driver);
    const auto deadline = Clock::now() + kStartTimeout + 2 * kLineTimeout;
    std::string line;
    DriverProcess::Read read;
    while ((read = driver->read_line(line, deadline)) == DriverProcess::Read::Line &&
           line != "done") {
    }
    ASSERT_EQ(line, "done") << "the last run did not finish (" << static_cast<int>(read) << ")";
    while (driver->read_line(line, deadline) == DriverProcess::Read::Line) {
    }
    const int status = driver->kill_and_wait();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  ASSERT_NO_FATAL_FAILURE(expect_intact(setup.db));
  ASSERT_NO_FATAL_FAILURE(journal.consume());
  journal.expect_complete(published);
  ASSERT_NO_FATAL_FAILURE(expect_stored(setup.db, peer.id(), topic, published));

  const auto& stats = journal.stats();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout << "[ node crash ] " << setup.mode << ": " << rounds << " kills, " << stats.runs
            << " runs in " << seconds << " s: " << published.size() << " published, "
            << stats.processed_lines << " processed, " << stats.redelivered
            << " redelivered after a restart (processed, not acked), " << stats.skipped
            << " skipped (acked in the window, never processed)" << std::endl;
  // Neither policy acks an operation the application has not finished with.
  EXPECT_EQ(stats.skipped, 0u);
}

std::string policy_name(const testing::TestParamInfo<AckPolicy>& param) {
  return param.param == AckPolicy::Explicit ? "Explicit" : "Automatic";
}

INSTANTIATE_TEST_SUITE_P(AckPolicies, NodeCrash,
                         testing::Values(AckPolicy::Explicit, AckPolicy::Automatic), policy_name);

}  // namespace
}  // namespace p2panda::test

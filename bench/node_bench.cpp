// The Node API end to end (issue 6), through the public API on the real store and real QUIC:
//   publish_ops_s        publishes per second of ~100-byte messages into a file database: the
//                        faster of publish_blocking() in a loop (publish_blocking_ops_s) and
//                        kAsyncWindow awaitable publishes in flight (publish_async_ops_s)
//   publish_deep_ops_s   kDeepWindow awaitable publishes in flight: what the pipeline carries
//   publish_deep_vs_sign when the application keeps it full (reported beside, not in, the above)
//   sign_ops_s           create_node_operation() for the same messages, same rounds: the signing
//                        a publish cannot avoid
//   publish_vs_sign      publish_ops_s / sign_ops_s (goal >= 0.7)
//   e2e_latency_p50_ms,  publish_blocking() on node A until node B's subscription yields the
//   e2e_latency_p99_ms   Processed event, one message at a time, QUIC over 127.0.0.1 in this
//                        process (goals 2 and 10 ms)
//   sync_catchup_ops_s   operations per second node B stores from node A's topic when the two
//                        meet for the first time (kCatchUp operations, file databases, QUIC over
//                        127.0.0.1): what an offline peer's catch-up runs at
//   verify_ops_s,        validate_operation() (the signature check bounds ingest) on one thread,
//   sync_catchup_vs_verify same rounds, and the catch-up rate's ratio to it
//   idle_node_rss_mb,    see node_bench_rss.cpp: VmRSS of a child process (bench/idle_node.cpp)
//   rss_per_topic_kb     with one idle node, and its growth per opened topic stream
// Rates are the median of kRounds rounds (each round: sign, blocking and the two awaitable forms
// taking turns in six slices, so a load spike hits all of them alike); every round is printed.
// Usage: node_bench [--results FILE]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <p2panda/extensions.hpp>
#include <p2panda/node.hpp>

#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "figures.hpp"
#include "node_bench.hpp"

namespace p2panda::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kRounds = 3;
constexpr std::size_t kPublishes = 3000;  // per form and round
constexpr std::size_t kWarmUp = 100;      // publishes before timing (statement cache, WAL)
constexpr std::size_t kAsyncWindow = 32;
constexpr std::size_t kDeepWindow = 256;
constexpr std::size_t kLatencySamples = 500;
constexpr std::size_t kMessageSize = 100;
constexpr std::size_t kCatchUp = 20000;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5)];
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// 100 printable bytes, different for every index (a chat message, say).
std::string message(std::size_t index) {
  std::string text = "message " + std::to_string(index) + " ";
  text.resize(kMessageSize, static_cast<char>('a' + index % 26));
  return text;
}

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() / ("node_bench-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

Result<Node> spawn_on_file(const std::string& path, MdnsMode mdns = MdnsMode::Active) {
  return builder()
      .database_url("sqlite:" + path)
      .bind_v4("127.0.0.1")
      .mdns_mode(mdns)
      .sync_retry(200ms)
      .spawn_blocking();
}

// What publish signs, without the node: encode, hash the body, sign the header, chain backlinks.
// Each of these returns the seconds `count` operations took (negative on a failure).
double sign_seconds(const Topic& topic, std::size_t first, std::size_t count) {
  const PrivateKey key = PrivateKey::generate();
  std::optional<Hash> backlink;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    Operation operation =
        create_node_operation(key, {.topic = topic,
                                    .seq_num = SeqNum(static_cast<std::uint32_t>(i)),
                                    .backlink = backlink,
                                    .timestamp = Timestamp::now(),
                                    .body = Body(Codec<std::string>::encode(message(first + i)))});
    backlink = operation.id();
  }
  return seconds_since(start);
}

double publish_blocking_seconds(Publisher<std::string>& publisher, std::size_t first,
                                std::size_t count) {
  const auto start = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    auto id = publisher.publish_blocking(message(first + i));
    if (!id) {
      std::fprintf(stderr, "publish: %s\n", id.error().to_string().c_str());
      return -1;
    }
  }
  return seconds_since(start);
}

// `window` coroutines on an application io_context, each publishing until all are done.
double publish_async_seconds(Publisher<std::string>& publisher, std::size_t first,
                             std::size_t count, std::size_t window) {
  asio::io_context io(1);
  std::size_t next = 0, failed = 0;
  auto worker = [&]() -> Awaitable<void> {
    while (next < count) {
      const std::size_t i = next++;
      auto id = co_await publisher.publish(message(first + i));
      if (!id) ++failed;
    }
  };
  const auto start = Clock::now();
  for (std::size_t w = 0; w < window; ++w) asio::co_spawn(io, worker(), asio::detached);
  io.run();
  const double elapsed = seconds_since(start);
  if (failed > 0) {
    std::fprintf(stderr, "publish (awaitable): %zu failed\n", failed);
    return -1;
  }
  return elapsed;
}

struct PublishFigures {
  double sign = 0, blocking = 0, async = 0, deep = 0;
};

// One round on a fresh file database. The subscription is held but not read: the figure is the
// publishing side (a reader adds a cursor write per delivered operation).
std::optional<PublishFigures> publish_round(const TempDir& dir, std::size_t round) {
  auto node = spawn_on_file(dir.file("publish-" + std::to_string(round) + ".sqlite"));
  if (!node) {
    std::fprintf(stderr, "spawn: %s\n", node.error().to_string().c_str());
    return std::nullopt;
  }
  const Topic topic = Topic::random();
  auto stream = node->stream_blocking<std::string>(topic);
  if (!stream) return std::nullopt;
  for (std::size_t i = 0; i < kWarmUp; ++i) {
    if (!stream->publisher.publish_blocking(message(i))) return std::nullopt;
  }
  // The forms take turns in kSlices slices, so that the machine's speed, which moves from one
  // second to the next on a shared host, weighs on all of them alike: the ratios compare like
  // with like.
  constexpr std::size_t kSlices = 6;
  const std::size_t per_slice = kPublishes / kSlices;
  double sign = 0, blocking = 0, async = 0, deep = 0;
  std::size_t next = kWarmUp;
  for (std::size_t slice = 0; slice < kSlices; ++slice) {
    const double seconds[] = {
        sign_seconds(topic, slice * per_slice, per_slice),
        publish_blocking_seconds(stream->publisher, next, per_slice),
        publish_async_seconds(stream->publisher, next + per_slice, per_slice, kAsyncWindow),
        publish_async_seconds(stream->publisher, next + 2 * per_slice, per_slice, kDeepWindow)};
    next += 3 * per_slice;
    if (*std::min_element(std::begin(seconds), std::end(seconds)) < 0) return std::nullopt;
    sign += seconds[0];
    blocking += seconds[1];
    async += seconds[2];
    deep += seconds[3];
  }
  const double total = static_cast<double>(per_slice * kSlices);
  PublishFigures figures{total / sign, total / blocking, total / async, total / deep};
  node->shutdown();
  std::printf(
      "  round %zu: sign %8.0f/s  publish_blocking %8.0f/s  publish (awaitable x%zu) %8.0f/s"
      "  (x%zu) %8.0f/s\n",
      round, figures.sign, figures.blocking, kAsyncWindow, figures.async, kDeepWindow,
      figures.deep);
  return figures;
}

// Takes events from `subscription` until the Processed event of `text`; false on timeout.
bool await_message(Subscription<std::string>& subscription, const std::string& text,
                   std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto event = subscription.next(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!event || !*event) return false;
    auto* processed = std::get_if<Processed<std::string>>(&**event);
    if (processed && processed->message == text) return true;
  }
  return false;
}

// Milliseconds per message from A's publish call to B's Processed event; empty on failure.
std::vector<double> e2e_latencies(const TempDir& dir) {
  auto a = spawn_on_file(dir.file("a.sqlite"));
  auto b = spawn_on_file(dir.file("b.sqlite"));
  if (!a || !b) return {};
  const Topic topic = Topic::random();
  auto stream_a = a->stream_blocking<std::string>(topic);
  auto stream_b = b->stream_blocking<std::string>(topic);
  if (!stream_a || !stream_b) return {};
  if (!a->insert_bootstrap(b->id(), b->addresses()) ||
      !b->insert_bootstrap(a->id(), a->addresses())) {
    return {};
  }
  // The first message travels once the session is up and live; after it, every one is live.
  if (!stream_a->publisher.publish_blocking("warm-up") ||
      !await_message(stream_b->subscription, "warm-up", 30s)) {
    std::fprintf(stderr, "latency: the warm-up message never arrived\n");
    return {};
  }
  std::vector<double> latencies;
  for (std::size_t i = 0; i < kLatencySamples; ++i) {
    const std::string text = message(i);
    const auto start = Clock::now();
    if (!stream_a->publisher.publish_blocking(text) ||
        !await_message(stream_b->subscription, text, 10s)) {
      std::fprintf(stderr, "latency: message %zu did not arrive\n", i);
      return {};
    }
    latencies.push_back(seconds_since(start) * 1000.0);
  }
  const auto metrics = b->metrics();
  std::printf("  latency: %zu messages; B: %llu sessions started, %llu received\n",
              latencies.size(), static_cast<unsigned long long>(metrics.sync_sessions_started),
              static_cast<unsigned long long>(metrics.operations_received));
  a->shutdown();
  b->shutdown();
  return latencies;
}

struct CatchUpFigures {
  double ops_s = 0, verify_s = 0;
};

// Seconds validate_operation() takes for `count` freshly signed operations, on this thread.
double verify_seconds(std::size_t count) {
  const PrivateKey key = PrivateKey::generate();
  const Topic topic = Topic::random();
  std::vector<Operation> operations;
  std::optional<Hash> backlink;
  for (std::size_t i = 0; i < count; ++i) {
    operations.push_back(create_node_operation(
        key, {.topic = topic,
              .seq_num = SeqNum(static_cast<std::uint32_t>(i)),
              .backlink = backlink,
              .timestamp = Timestamp::now(),
              .body = Body(Codec<std::string>::encode(message(i)))}));
    backlink = operations.back().id();
  }
  const auto start = Clock::now();
  for (const auto& operation : operations) {
    if (!validate_operation(operation)) return -1;
  }
  return seconds_since(start);
}

// A holds kCatchUp operations of a topic; B, new, opens the topic and meets A. The clock runs
// from the introduction until B has stored them all (B's subscription is held but not read).
// Without mDNS, so that the two meet only when introduced, after A published everything.
std::optional<CatchUpFigures> catch_up_round(const TempDir& dir, std::size_t round) {
  const std::string prefix = "catchup-" + std::to_string(round);
  auto a = spawn_on_file(dir.file(prefix + "-a.sqlite"), MdnsMode::Disabled);
  if (!a) return std::nullopt;
  const Topic topic = Topic::random();
  auto stream_a = a->stream_blocking<std::string>(topic);
  if (!stream_a) return std::nullopt;
  if (publish_async_seconds(stream_a->publisher, 0, kCatchUp, kDeepWindow) < 0) return std::nullopt;
  auto b = spawn_on_file(dir.file(prefix + "-b.sqlite"), MdnsMode::Disabled);
  if (!b) return std::nullopt;
  auto stream_b = b->stream_blocking<std::string>(topic);
  if (!stream_b || b->metrics().operations_ingested != 0) return std::nullopt;
  const auto start = Clock::now();
  // B is introduced to A, as a new device to a known peer: B dials.
  if (!b->insert_bootstrap(a->id(), a->addresses())) return std::nullopt;
  // A benchmark may poll: the figure is the rate, not a pass or a fail.
  while (b->metrics().operations_ingested < kCatchUp) {
    if (Clock::now() - start > 300s) {
      std::fprintf(stderr, "catch-up: B stored %llu of %zu in 300 s\n",
                   static_cast<unsigned long long>(b->metrics().operations_ingested), kCatchUp);
      return std::nullopt;
    }
    std::this_thread::sleep_for(2ms);
  }
  const double seconds = seconds_since(start);
  a->shutdown();
  b->shutdown();
  constexpr std::size_t kVerify = 2000;
  const double verify = verify_seconds(kVerify);
  if (verify < 0) return std::nullopt;
  CatchUpFigures figures{static_cast<double>(kCatchUp) / seconds,
                         static_cast<double>(kVerify) / verify};
  std::printf("  catch-up round %zu: %8.0f ops/s (%zu in %.2f s), verify %8.0f/s\n", round,
              figures.ops_s, kCatchUp, seconds, figures.verify_s);
  return figures;
}

}  // namespace
}  // namespace p2panda::bench

int main(int argc, char** argv) {
  using namespace p2panda::bench;
  std::string results;
  if (!parse_results_flag(argc, argv, "node_bench [--results FILE]", results)) return 2;
  std::printf("load average at start: %s\n", load_average().c_str());
  TempDir dir;
  Figures figures;

  std::vector<double> sign, blocking, async, deep, ratio, deep_ratio;
  for (std::size_t round = 0; round < kRounds; ++round) {
    auto measured = publish_round(dir, round);
    if (!measured) return 1;
    sign.push_back(measured->sign);
    blocking.push_back(measured->blocking);
    async.push_back(measured->async);
    deep.push_back(measured->deep);
    ratio.push_back(std::max(measured->blocking, measured->async) / measured->sign);
    deep_ratio.push_back(measured->deep / measured->sign);
  }
  figures["sign_ops_s"] = median(sign);
  figures["publish_blocking_ops_s"] = median(blocking);
  figures["publish_async_ops_s"] = median(async);
  figures["publish_ops_s"] = std::max(median(blocking), median(async));
  figures["publish_vs_sign"] = median(ratio);
  figures["publish_deep_ops_s"] = median(deep);
  figures["publish_deep_vs_sign"] = median(deep_ratio);

  const auto latencies = e2e_latencies(dir);
  if (latencies.empty()) return 1;
  figures["e2e_latency_p50_ms"] = percentile(latencies, 0.5);
  figures["e2e_latency_p99_ms"] = percentile(latencies, 0.99);
  std::printf("  latency: min %.3f ms, p90 %.3f ms, max %.3f ms\n", percentile(latencies, 0),
              percentile(latencies, 0.9), percentile(latencies, 1));

  std::vector<double> catchup, verify, catchup_ratio;
  for (std::size_t round = 0; round < kRounds; ++round) {
    auto measured = catch_up_round(dir, round);
    if (!measured) return 1;
    catchup.push_back(measured->ops_s);
    verify.push_back(measured->verify_s);
    catchup_ratio.push_back(measured->ops_s / measured->verify_s);
  }
  figures["sync_catchup_ops_s"] = median(catchup);
  figures["verify_ops_s"] = median(verify);
  figures["sync_catchup_vs_verify"] = median(catchup_ratio);

  auto rss = measure_rss(P2PANDA_IDLE_NODE);
  if (!rss) return 1;
  figures["idle_node_rss_mb"] = rss->idle_node_mb;
  figures["idle_process_rss_mb"] = rss->process_mb;
  figures["rss_per_topic_kb"] = rss->per_topic_kb;

  std::printf("load average at end: %s\n", load_average().c_str());
  print_summary(figures);
  if (!results.empty() && !merge_results(results, figures)) return 1;
  return 0;
}

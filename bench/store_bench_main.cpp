// store_bench's main and the 1M-operation open scenario (see store_bench.cpp for the figures).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "figures.hpp"
#include "store/sqlite_store.hpp"
#include "stream/ingest.hpp"

namespace p2panda::bench {

std::vector<std::pair<Operation, Topic>> make_operations(std::size_t count, std::size_t per_log);
double raw_verify_rate(const std::vector<std::pair<Operation, Topic>>& operations);
double raw_insert_rate(const std::vector<std::pair<Operation, Topic>>& operations,
                       const std::string& path);
double ingest_rate(const std::vector<std::pair<Operation, Topic>>& operations,
                   const std::string& path, std::size_t cores);
double log_read_rate(const std::string& path, const PublicKey& author, const LogId& log);

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTopics = 100, kAuthors = 100, kPerLog = 100;  // 1,000,000 operations
constexpr const char* kMillionVersion = "v1";

Topic million_topic(int t) {
  std::array<std::uint8_t, 32> bytes{};
  bytes[0] = static_cast<std::uint8_t>(t);
  bytes[1] = 0xaa;
  return Topic(bytes);
}

// Builds the database straight through SQL: signing a million operations would take half a
// minute and is not what this scenario measures. Headers are real encodings with dummy signatures.
bool build_million(const std::string& path) {
  std::filesystem::remove(path);
  {
    auto store = store::SqliteStore::open({.url = path});  // creates the schema
    if (!store) return false;
  }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt *insert = nullptr, *link = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?, 0, NULL)", -1, &insert,
                     nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO topic_logs VALUES (?, ?, ?)", -1, &link, nullptr);
  for (int t = 0; t < kTopics; ++t) {
    const Topic topic = million_topic(t);
    const LogId log = LogId::from_topic(topic);
    for (int a = 0; a < kAuthors; ++a) {
      std::array<std::uint8_t, 32> author_bytes{};
      author_bytes[0] = static_cast<std::uint8_t>(a);
      author_bytes[1] = static_cast<std::uint8_t>(t);
      const PublicKey author(author_bytes);
      sqlite3_bind_blob(link, 1, topic.data(), 32, SQLITE_STATIC);
      sqlite3_bind_blob(link, 2, author.data(), 32, SQLITE_STATIC);
      sqlite3_bind_blob(link, 3, log.data(), 32, SQLITE_STATIC);
      sqlite3_step(link);
      sqlite3_reset(link);
      std::optional<Hash> backlink;
      for (int seq = 0; seq < kPerLog; ++seq) {
        Header header;
        header.public_key = author;
        header.signature = Signature{};
        header.seq_num = SeqNum(static_cast<std::uint32_t>(seq));
        header.backlink = backlink;
        const Bytes bytes = header.encode();
        const Hash id = Hash::digest(bytes);
        backlink = id;
        sqlite3_bind_blob(insert, 1, id.data(), 32, SQLITE_STATIC);
        sqlite3_bind_blob(insert, 2, author.data(), 32, SQLITE_STATIC);
        sqlite3_bind_blob(insert, 3, log.data(), 32, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 4, seq);
        sqlite3_bind_blob(insert, 5, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
        sqlite3_bind_int64(insert, 6, static_cast<sqlite3_int64>(bytes.size()));
        if (sqlite3_step(insert) != SQLITE_DONE) {
          std::fprintf(stderr, "build: %s\n", sqlite3_errmsg(db));
          return false;
        }
        sqlite3_reset(insert);
      }
    }
  }
  sqlite3_finalize(insert);
  sqlite3_finalize(link);
  const bool ok = sqlite3_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr,
                               nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

// Median over 5 fresh opens of: open the store, then the log heights of one topic.
double open_and_heights_ms(const std::string& path) {
  std::vector<double> times;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    auto store = store::SqliteStore::open({.url = path});
    if (!store) return -1;
    auto heights = (*store)->query(
        [](store::StoreReader& tx) { return tx.topic_heights(million_topic(37)); });
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!heights || heights->size() != kAuthors) return -1;
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int run_store_bench(int argc, char** argv);

}  // namespace p2panda::bench

int main(int argc, char** argv) { return p2panda::bench::run_store_bench(argc, argv); }

namespace p2panda::bench {

int run_store_bench(int argc, char** argv) {
  std::string results;
  std::size_t count = 100'000;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--results" && i + 1 < argc) {
      results = argv[++i];
    } else if (argument == "--operations" && i + 1 < argc) {
      count = std::stoul(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: store_bench [--results FILE] [--operations N]\n");
      return 2;
    }
  }
  char scratch_pattern[] = "/tmp/p2panda-store-bench-XXXXXX";
  const std::filesystem::path scratch = ::mkdtemp(scratch_pattern);
  Figures figures;
  // Leave one core to the writer thread; verification gets the rest.
  const std::size_t cores = std::max<unsigned>(1, std::thread::hardware_concurrency() - 1);
  figures["ingest_cores"] = static_cast<double>(cores);

  std::printf("signing %zu operations...\n", count);
  std::fflush(stdout);
  const auto operations = make_operations(count, 1000);
  const double verify = raw_verify_rate(operations);
  const double insert = raw_insert_rate(operations, (scratch / "raw.sqlite").string());
  figures["ingest_raw_verify_per_s"] = verify;
  figures["ingest_raw_insert_per_s"] = insert;
  figures["ingest_limit_ops_s"] = std::min(verify * static_cast<double>(cores), insert);
  const std::string ingested = (scratch / "ingest.sqlite").string();
  figures["ingest_ops_s"] = ingest_rate(operations, ingested, cores);
  figures["ingest_vs_limit"] = figures["ingest_ops_s"] / figures["ingest_limit_ops_s"];
  figures["log_read_ops_s"] = log_read_rate(ingested, operations[0].first.author(),
                                            LogId::from_topic(operations[0].second));

  const std::filesystem::path data = std::filesystem::current_path() / "build" / "bench-data";
  std::filesystem::create_directories(data);
  const std::string million = (data / "million.sqlite").string();
  const std::string marker = (data / "million.version").string();
  std::string version;
  if (FILE* file = std::fopen(marker.c_str(), "r")) {
    char buffer[16] = {};
    version = std::fgets(buffer, sizeof buffer, file) ? buffer : "";
    std::fclose(file);
  }
  if (version != kMillionVersion || !std::filesystem::exists(million)) {
    std::printf("building the 1M-operation database (once)...\n");
    std::fflush(stdout);
    if (!build_million(million)) return 1;
    if (FILE* file = std::fopen(marker.c_str(), "w")) {
      std::fputs(kMillionVersion, file);
      std::fclose(file);
    }
  }
  figures["open_1m_heights_ms"] = open_and_heights_ms(million);
  std::filesystem::remove_all(scratch);

  print_summary(figures);
  if (!results.empty() && !merge_results(results, figures)) return 1;
  return 0;
}

}  // namespace p2panda::bench

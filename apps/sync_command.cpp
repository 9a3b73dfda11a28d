// `p2panda sync`: one sync session with one peer (sync_once.hpp), then a report of the operations
// and bytes both ways. Exit 0 when the session ended gracefully, 1 when the peer could not be
// reached, refused, or broke the protocol, 2 for bad arguments.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "logging.hpp"
#include "sync_once.hpp"

namespace p2panda::apps {
namespace {

struct SyncOptions {
  std::string db = ":memory:";
  std::string key_file;
  std::string topic;
  std::string peer;
  double timeout_seconds = 10;
  bool json = false;
};

int run_sync(const SyncOptions& options) {
  init_logging();
  auto peer = parse_peer(options.peer);
  if (!peer) return usage_error("--peer: " + peer.error().to_string());
  if (options.timeout_seconds <= 0) return usage_error("--timeout must be positive");
  SyncOnceRequest request;
  if (!options.key_file.empty()) {
    auto key = load_or_create_key(options.key_file);
    if (!key) return usage_error(key.error().to_string());
    request.key = *key;
  } else {
    request.key = PrivateKey::generate();
  }
  request.database_url = options.db;
  request.topic = parse_topic(options.topic);
  request.peer = *peer;
  request.timeout = std::chrono::milliseconds(static_cast<long>(options.timeout_seconds * 1000));

  spdlog::debug("syncing topic {} with {}", request.topic.to_hex(), options.peer);
  auto report = sync_once(request);
  if (!report) {
    const std::string message = "sync with " + options.peer + " failed: " +
                                report.error().to_string();
    if (options.json) {
      std::cout << nlohmann::ordered_json{{"event", "error"}, {"message", message}}.dump() << '\n';
    }
    std::cerr << "p2panda: " << message << '\n';
    return kExitInvalid;
  }
  const auto& m = report->metrics;
  if (options.json) {
    std::cout << nlohmann::ordered_json{{"event", "synced"},
                                {"topic", request.topic.to_hex()},
                                {"remote", peer->id.to_hex()},
                                {"sent_operations", m.sent_operations},
                                {"received_operations", m.received_operations},
                                {"sent_bytes", m.sent_bytes},
                                {"received_bytes", m.received_bytes},
                                {"ingested", report->ingested},
                                {"rejected", report->rejected}}
                     .dump()
              << '\n';
  } else {
    std::cout << "synced topic " << request.topic.to_hex() << " with " << peer->id.to_hex()
              << ": sent " << m.sent_operations << " operations (" << m.sent_bytes
              << " bytes), received " << m.received_operations << " (" << m.received_bytes
              << " bytes), " << report->ingested << " new, " << report->rejected << " rejected\n";
  }
  return kExitOk;
}

}  // namespace

void add_sync_command(CLI::App& app, Runner& runner) {
  auto options = std::make_shared<SyncOptions>();
  CLI::App* sync =
      app.add_subcommand("sync", "Sync one topic with one peer once (no live mode), then exit");
  sync->add_option("--db", options->db, "SQLite database file (default: in memory)")
      ->type_name("PATH");
  sync->add_option("--key-file", options->key_file, "Seed file; created when missing")
      ->type_name("PATH");
  sync->add_option("--topic", options->topic, "64 hex characters, or a name hashed with BLAKE3")
      ->required()
      ->type_name("T");
  sync->add_option("--peer", options->peer, "The peer to sync with")
      ->required()
      ->type_name("ID@HOST:PORT");
  sync->add_option("--timeout", options->timeout_seconds,
                   "Seconds to reach the peer and for each silence during the sync (default 10)")
      ->type_name("SECONDS");
  sync->add_flag("--json", options->json, "Print the report as one JSON object");
  sync->callback([options, &runner] { runner = [options] { return run_sync(*options); }; });
}

}  // namespace p2panda::apps

#include "store/schema.hpp"

#include <vector>

namespace p2panda::store {
namespace {

// Append only: never edit a migration that has shipped, add a new one.
const std::vector<const char*> kMigrations = {
    // 1: operations, topics, cursors, address book, orderer.
    R"sql(
    CREATE TABLE operations (
      id           BLOB PRIMARY KEY NOT NULL,  -- BLAKE3 of the signed header
      author       BLOB NOT NULL,
      log_id       BLOB NOT NULL,
      seq_num      INTEGER NOT NULL,
      header       BLOB NOT NULL,              -- canonical CBOR, exactly as signed
      header_size  INTEGER NOT NULL,
      payload_size INTEGER NOT NULL,
      body         BLOB                        -- NULL when deleted or never received
    );
    -- One entry per log position: the first operation at a seq wins, forks cannot be stored.
    CREATE UNIQUE INDEX operations_by_log ON operations (author, log_id, seq_num);

    CREATE TABLE topic_logs (
      topic  BLOB NOT NULL,
      author BLOB NOT NULL,
      log_id BLOB NOT NULL,
      PRIMARY KEY (topic, author, log_id)
    ) WITHOUT ROWID;

    CREATE TABLE cursors (
      name   TEXT PRIMARY KEY NOT NULL,
      cursor BLOB NOT NULL                     -- CBOR [name, {author: {log_id: seq}}]
    );

    CREATE TABLE nodes (
      node_id      BLOB PRIMARY KEY NOT NULL,
      info         BLOB,                       -- signed transport info, opaque here
      bootstrap    INTEGER NOT NULL DEFAULT 0,
      updated_at   INTEGER NOT NULL,           -- microseconds since the UNIX epoch
      successes    INTEGER NOT NULL DEFAULT 0,
      failures     INTEGER NOT NULL DEFAULT 0,
      last_success INTEGER,
      last_failure INTEGER
    );
    CREATE TABLE node_topics (
      node_id BLOB NOT NULL REFERENCES nodes (node_id) ON DELETE CASCADE,
      topic   BLOB NOT NULL,
      PRIMARY KEY (node_id, topic)
    ) WITHOUT ROWID;
    CREATE INDEX node_topics_by_topic ON node_topics (topic);

    -- Causal orderer: operations released so far, and what each held-back operation waits for.
    CREATE TABLE orderer_ready (
      id BLOB PRIMARY KEY NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE orderer_pending (
      position   INTEGER PRIMARY KEY,          -- arrival order, for in-order release
      id         BLOB NOT NULL,
      dependency BLOB NOT NULL,
      UNIQUE (id, dependency)
    );
    CREATE INDEX orderer_pending_by_dependency ON orderer_pending (dependency);
    )sql",
    // 2: the held-back operations by log id (a topic's, for every author), so that each topic's
    // backlog is bounded on its own and counted without a scan of every held-back row.
    // Held-back entries deleted by a prune before this version are left out: their log id went
    // with them. At most the old node-wide bound (10,000) of them; later ones keep their row.
    R"sql(
    CREATE TABLE orderer_held (
      id     BLOB PRIMARY KEY NOT NULL,
      log_id BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX orderer_held_by_log ON orderer_held (log_id);
    INSERT INTO orderer_held (id, log_id)
      SELECT DISTINCT pending.id, operations.log_id
      FROM orderer_pending AS pending JOIN operations ON operations.id = pending.id;
    )sql",
};

}  // namespace

int latest_schema_version() { return static_cast<int>(kMigrations.size()); }

Result<void> migrate(Connection& connection) {
  auto version = connection.query_int("PRAGMA user_version");
  if (!version) return Unexpected{std::move(version).error()};
  if (*version > latest_schema_version()) {
    return fail(Errc::StoreSchemaTooNew,
                "database schema version " + std::to_string(*version) +
                    " is newer than this build's " + std::to_string(latest_schema_version()) +
                    "; upgrade p2panda-cpp to open it");
  }
  for (int next = static_cast<int>(*version); next < latest_schema_version(); ++next) {
    const std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[next] +
                            "PRAGMA user_version = " + std::to_string(next + 1) + "; COMMIT;";
    if (auto applied = connection.exec(sql); !applied) {
      (void)connection.exec("ROLLBACK");
      return applied;
    }
  }
  return {};
}

}  // namespace p2panda::store

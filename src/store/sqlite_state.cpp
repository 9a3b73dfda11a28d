// SqliteTx: ack cursors and causal orderer state.
#include "core/try.hpp"
#include "store/sqlite_tx.hpp"

namespace p2panda::store {

Result<std::optional<Cursor>> SqliteTx::get_cursor(const std::string& name) {
  P2PANDA_TRY(statement, db_.prepare("SELECT cursor FROM cursors WHERE name = ?"));
  statement->bind(1, std::string_view(name));
  P2PANDA_TRY(row, statement->step());
  if (!row) return std::optional<Cursor>{};
  auto cursor = Cursor::decode(statement->column_blob(0));
  if (!cursor) {
    return fail(Errc::StoreCorrupt,
                "stored cursor '" + name + "' does not decode: " + cursor.error().to_string());
  }
  return std::optional<Cursor>(std::move(*cursor));
}

Result<void> SqliteTx::set_cursor(const Cursor& cursor) {
  const Bytes encoded = cursor.encode();
  P2PANDA_TRY(statement, db_.prepare("INSERT INTO cursors (name, cursor) VALUES (?, ?) "
                                     "ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor"));
  statement->bind(1, std::string_view(cursor.name())).bind(2, encoded);
  return statement->run();
}

Result<void> SqliteTx::merge_cursor(const Cursor& cursor) {
  auto stored = get_cursor(cursor.name());
  if (!stored || !*stored) return set_cursor(cursor);  // none, or one that no longer decodes
  Cursor merged = std::move(**stored);
  for (const auto& [author, logs] : cursor.state()) {
    for (const auto& [log, seq] : logs) merged.advance(author, log, seq);
  }
  return set_cursor(merged);
}

Result<void> SqliteTx::delete_cursor(const std::string& name) {
  P2PANDA_TRY(statement, db_.prepare("DELETE FROM cursors WHERE name = ?"));
  statement->bind(1, std::string_view(name));
  return statement->run();
}

Result<bool> SqliteTx::orderer_is_ready(const Hash& id) {
  P2PANDA_TRY(statement, db_.prepare("SELECT 1 FROM orderer_ready WHERE id = ?"));
  statement->bind(1, id.bytes());
  return statement->step();
}

Result<std::uint64_t> SqliteTx::orderer_pending_count() {
  P2PANDA_TRY(count, db_.query_int("SELECT COUNT(DISTINCT id) FROM orderer_pending"));
  return static_cast<std::uint64_t>(count);
}

Result<std::uint64_t> SqliteTx::orderer_held_count(const LogId& log) {
  P2PANDA_TRY(statement, db_.prepare("SELECT COUNT(*) FROM orderer_held WHERE log_id = ?"));
  statement->bind(1, log.bytes());
  P2PANDA_CHECK(statement->step());
  return static_cast<std::uint64_t>(statement->column_int(0));
}

Result<std::vector<Hash>> SqliteTx::orderer_waiting_for(const Hash& id) {
  P2PANDA_TRY(statement, db_.prepare("SELECT dependency FROM orderer_pending WHERE id = ? "
                                     "ORDER BY dependency"));
  statement->bind(1, id.bytes());
  std::vector<Hash> missing;
  while (true) {
    P2PANDA_TRY(row, statement->step());
    if (!row) break;
    P2PANDA_TRY(dependency, Hash::from_bytes(statement->column_blob(0)));
    missing.push_back(dependency);
  }
  return missing;
}

Result<bool> SqliteTx::orderer_awaited(const Hash& dependency) {
  P2PANDA_TRY(statement,
              db_.prepare("SELECT 1 FROM orderer_pending WHERE dependency = ? LIMIT 1"));
  statement->bind(1, dependency.bytes());
  return statement->step();
}

Result<bool> SqliteTx::orderer_any_pending() {
  P2PANDA_TRY(statement, db_.prepare("SELECT 1 FROM orderer_pending LIMIT 1"));
  return statement->step();
}

Result<bool> SqliteTx::orderer_holds(const LogId& log) {
  // Through the log's held-back entries (few), each checked for having been pruned.
  P2PANDA_TRY(statement, db_.prepare("SELECT 1 FROM orderer_held AS held "
                                     "JOIN operations ON operations.id = held.id "
                                     "WHERE held.log_id = ? LIMIT 1"));
  statement->bind(1, log.bytes());
  return statement->step();
}

Result<std::vector<Hash>> SqliteTx::orderer_dependencies() {
  P2PANDA_TRY(statement, db_.prepare("SELECT DISTINCT dependency FROM orderer_pending"));
  std::vector<Hash> dependencies;
  while (true) {
    P2PANDA_TRY(row, statement->step());
    if (!row) break;
    P2PANDA_TRY(dependency, Hash::from_bytes(statement->column_blob(0)));
    dependencies.push_back(dependency);
  }
  return dependencies;
}

Result<void> SqliteTx::orderer_mark_ready(const Hash& id) {
  P2PANDA_TRY(statement, db_.prepare("INSERT OR IGNORE INTO orderer_ready (id) VALUES (?)"));
  statement->bind(1, id.bytes());
  return statement->run();
}

Result<void> SqliteTx::orderer_add_pending(const Hash& id, const LogId& log,
                                            std::span<const Hash> missing) {
  {
    P2PANDA_TRY(held, db_.prepare("INSERT OR IGNORE INTO orderer_held (id, log_id) VALUES (?, ?)"));
    held->bind(1, id.bytes()).bind(2, log.bytes());
    P2PANDA_CHECK(held->run());
  }
  P2PANDA_TRY(statement, db_.prepare("INSERT OR IGNORE INTO orderer_pending (id, dependency) "
                                     "VALUES (?, ?)"));
  for (const Hash& dependency : missing) {
    statement->reset();
    statement->bind(1, id.bytes()).bind(2, dependency.bytes());
    P2PANDA_CHECK(statement->run());
  }
  return {};
}

Result<std::vector<Hash>> SqliteTx::orderer_resolve(const Hash& dependency) {
  std::vector<Hash> waiting;
  {
    P2PANDA_TRY(select, db_.prepare("SELECT id FROM orderer_pending WHERE dependency = ? "
                                    "ORDER BY position"));
    select->bind(1, dependency.bytes());
    while (true) {
      P2PANDA_TRY(row, select->step());
      if (!row) break;
      P2PANDA_TRY(id, Hash::from_bytes(select->column_blob(0)));
      waiting.push_back(id);
    }
  }
  P2PANDA_TRY(remove, db_.prepare("DELETE FROM orderer_pending WHERE dependency = ?"));
  remove->bind(1, dependency.bytes());
  P2PANDA_CHECK(remove->run());

  std::vector<Hash> unblocked;
  P2PANDA_TRY(still, db_.prepare("SELECT 1 FROM orderer_pending WHERE id = ? LIMIT 1"));
  for (const Hash& id : waiting) {
    still->reset();
    still->bind(1, id.bytes());
    P2PANDA_TRY(row, still->step());
    if (!row) unblocked.push_back(id);
  }
  if (!unblocked.empty()) {
    P2PANDA_TRY(released, db_.prepare("DELETE FROM orderer_held WHERE id = ?"));
    for (const Hash& id : unblocked) {
      released->reset();
      released->bind(1, id.bytes());
      P2PANDA_CHECK(released->run());
    }
  }
  return unblocked;
}

}  // namespace p2panda::store

// SqliteTx: operations, logs and topics.
#include "core/try.hpp"
#include "store/sqlite_tx.hpp"

namespace p2panda::store {
namespace {

constexpr std::int64_t kNoUpperBound = std::int64_t{1} << 40;

std::int64_t lower(std::optional<SeqNum> after) {
  return after ? std::int64_t{after->value()} : -1;
}
std::int64_t upper(std::optional<SeqNum> until) {
  return until ? std::int64_t{until->value()} : kNoUpperBound;
}

// Columns: id, header, body.
Result<Operation> read_operation(const Statement& row) {
  P2PANDA_TRY(id, Hash::from_bytes(row.column_blob(0)));
  std::optional<Body> body;
  if (!row.column_is_null(2)) body = Body(row.column_blob(2));
  auto operation = Operation::decode_with_id(id, row.column_blob(1), std::move(body));
  if (!operation) {
    return fail(Errc::StoreCorrupt, "stored header of " + id.to_hex() +
                                        " does not decode: " + operation.error().to_string());
  }
  return operation;
}

Result<std::optional<Operation>> read_one(Statement& statement) {
  P2PANDA_TRY(row, statement.step());
  if (!row) return std::optional<Operation>{};
  P2PANDA_TRY(operation, read_operation(statement));
  return std::optional<Operation>(std::move(operation));
}

}  // namespace

Result<bool> SqliteTx::has_operation(const Hash& id) {
  P2PANDA_TRY(statement, db_.prepare("SELECT 1 FROM operations WHERE id = ?"));
  statement->bind(1, id.bytes());
  return statement->step();
}

Result<std::optional<Operation>> SqliteTx::get_operation(const Hash& id) {
  P2PANDA_TRY(statement, db_.prepare("SELECT id, header, body FROM operations WHERE id = ?"));
  statement->bind(1, id.bytes());
  return read_one(*statement);
}

Result<std::optional<Operation>> SqliteTx::latest_entry(const PublicKey& author,
                                                         const LogId& log) {
  P2PANDA_TRY(statement, db_.prepare("SELECT id, header, body FROM operations "
                                     "WHERE author = ? AND log_id = ? "
                                     "ORDER BY seq_num DESC LIMIT 1"));
  statement->bind(1, author.bytes()).bind(2, log.bytes());
  return read_one(*statement);
}

Result<std::optional<Hash>> SqliteTx::latest_id(const PublicKey& author, const LogId& log) {
  return first_id("SELECT id FROM operations WHERE author = ? AND log_id = ? "
                  "ORDER BY seq_num DESC LIMIT 1",
                  author, log);
}

Result<std::optional<Hash>> SqliteTx::latest_released_id(const PublicKey& author,
                                                         const LogId& log) {
  // Newest first; a held-back entry has a row in orderer_held (looked up by its key).
  return first_id("SELECT id FROM operations AS o WHERE author = ? AND log_id = ? "
                  "AND NOT EXISTS (SELECT 1 FROM orderer_held AS h WHERE h.id = o.id) "
                  "ORDER BY seq_num DESC LIMIT 1",
                  author, log);
}

Result<std::optional<Hash>> SqliteTx::first_id(const char* sql, const PublicKey& author,
                                               const LogId& log) {
  P2PANDA_TRY(statement, db_.prepare(sql));
  statement->bind(1, author.bytes()).bind(2, log.bytes());
  P2PANDA_TRY(row, statement->step());
  if (!row) return std::optional<Hash>{};
  P2PANDA_TRY(id, Hash::from_bytes(statement->column_blob(0)));
  return std::optional<Hash>(id);
}

Result<std::optional<SeqNum>> SqliteTx::lowest_seq(const PublicKey& author, const LogId& log) {
  P2PANDA_TRY(statement, db_.prepare("SELECT seq_num FROM operations "
                                     "WHERE author = ? AND log_id = ? "
                                     "ORDER BY seq_num ASC LIMIT 1"));
  statement->bind(1, author.bytes()).bind(2, log.bytes());
  P2PANDA_TRY(row, statement->step());
  if (!row) return std::optional<SeqNum>{};
  return std::optional<SeqNum>(SeqNum(static_cast<std::uint32_t>(statement->column_int(0))));
}

Result<std::map<LogId, SeqNum>> SqliteTx::log_heights(const PublicKey& author,
                                                      std::span<const LogId> logs) {
  // One indexed lookup per log: MAX over the (author, log_id, seq_num) index is a single seek.
  P2PANDA_TRY(statement, db_.prepare("SELECT MAX(seq_num) FROM operations "
                                     "WHERE author = ? AND log_id = ?"));
  std::map<LogId, SeqNum> heights;
  for (const LogId& log : logs) {
    statement->reset();
    statement->bind(1, author.bytes()).bind(2, log.bytes());
    P2PANDA_TRY(row, statement->step());
    if (row && !statement->column_is_null(0)) {
      heights.emplace(log, SeqNum(static_cast<std::uint32_t>(statement->column_int(0))));
    }
  }
  return heights;
}

Result<LogSize> SqliteTx::log_size(const PublicKey& author, const LogId& log,
                                   std::optional<SeqNum> after, std::optional<SeqNum> until) {
  P2PANDA_TRY(statement,
              db_.prepare("SELECT COUNT(*), COALESCE(SUM(header_size + payload_size), 0) "
                          "FROM operations WHERE author = ? AND log_id = ? "
                          "AND seq_num > ? AND seq_num <= ?"));
  statement->bind(1, author.bytes()).bind(2, log.bytes()).bind(3, lower(after)).bind(4, upper(until));
  P2PANDA_TRY(row, statement->step());
  (void)row;  // aggregates always return one row
  return LogSize{static_cast<std::uint64_t>(statement->column_int(0)),
                 static_cast<std::uint64_t>(statement->column_int(1))};
}

Result<std::vector<Operation>> SqliteTx::log_entries(const PublicKey& author, const LogId& log,
                                                     std::optional<SeqNum> after,
                                                     std::optional<SeqNum> until) {
  P2PANDA_TRY(page, rows(author, log, lower(after), upper(until), -1));  // LIMIT -1: none
  if (!page.damaged.empty()) return Unexpected{std::move(page.damaged.front().error)};
  return std::move(page.entries);
}

Result<LogPage> SqliteTx::log_page(const PublicKey& author, const LogId& log,
                                   std::optional<SeqNum> after, SeqNum until, std::size_t limit) {
  return rows(author, log, lower(after), std::int64_t{until.value()},
              static_cast<std::int64_t>(limit));
}

Result<LogPage> SqliteTx::rows(const PublicKey& author, const LogId& log, std::int64_t after,
                               std::int64_t until, std::int64_t limit) {
  P2PANDA_TRY(statement, db_.prepare("SELECT id, header, body, seq_num FROM operations "
                                     "WHERE author = ? AND log_id = ? "
                                     "AND seq_num > ? AND seq_num <= ? ORDER BY seq_num LIMIT ?"));
  statement->bind(1, author.bytes()).bind(2, log.bytes()).bind(3, after).bind(4, until);
  statement->bind(5, limit);
  LogPage page;
  while (true) {
    P2PANDA_TRY(row, statement->step());
    if (!row) break;
    ++page.rows;
    const SeqNum seq(static_cast<std::uint32_t>(statement->column_int(3)));
    page.last = seq;
    auto operation = read_operation(*statement);
    if (operation) {
      page.entries.push_back(std::move(*operation));
      continue;
    }
    auto id = Hash::from_bytes(statement->column_blob(0));
    Error error = std::move(operation).error();
    if (error.code() != Errc::StoreCorrupt) {
      error = Error(Errc::StoreCorrupt, "stored entry at seq " + std::to_string(seq.value()) +
                                            " does not decode: " + error.to_string());
    }
    page.damaged.push_back(
        DamagedEntry{seq, id ? std::optional<Hash>(*id) : std::nullopt, std::move(error)});
  }
  return page;
}

Result<std::uint64_t> SqliteTx::bodies_in(const PublicKey& author, const LogId& log,
                                          std::optional<SeqNum> after, SeqNum until) {
  P2PANDA_TRY(statement, db_.prepare("SELECT COUNT(*) FROM operations "
                                     "WHERE author = ? AND log_id = ? "
                                     "AND seq_num > ? AND seq_num <= ? AND body IS NOT NULL"));
  statement->bind(1, author.bytes()).bind(2, log.bytes()).bind(3, lower(after)).bind(4, upper(until));
  P2PANDA_TRY(row, statement->step());
  (void)row;  // an aggregate always returns one row
  return static_cast<std::uint64_t>(statement->column_int(0));
}

Result<std::map<PublicKey, std::vector<LogId>>> SqliteTx::resolve_topic(const Topic& topic) {
  P2PANDA_TRY(statement, db_.prepare("SELECT author, log_id FROM topic_logs WHERE topic = ? "
                                     "ORDER BY author, log_id"));
  statement->bind(1, topic.bytes());
  std::map<PublicKey, std::vector<LogId>> logs;
  while (true) {
    P2PANDA_TRY(row, statement->step());
    if (!row) break;
    P2PANDA_TRY(author, PublicKey::from_bytes(statement->column_blob(0)));
    P2PANDA_TRY(log, LogId::from_bytes(statement->column_blob(1)));
    logs[author].push_back(log);
  }
  return logs;
}

Result<LogHeights> SqliteTx::topic_heights(const Topic& topic) {
  P2PANDA_TRY(statement,
              db_.prepare("SELECT t.author, t.log_id, "
                          "(SELECT MAX(o.seq_num) FROM operations o "
                          " WHERE o.author = t.author AND o.log_id = t.log_id) "
                          "FROM topic_logs t WHERE t.topic = ?"));
  statement->bind(1, topic.bytes());
  LogHeights heights;
  while (true) {
    P2PANDA_TRY(row, statement->step());
    if (!row) break;
    if (statement->column_is_null(2)) continue;  // associated, but every entry deleted
    P2PANDA_TRY(author, PublicKey::from_bytes(statement->column_blob(0)));
    P2PANDA_TRY(log, LogId::from_bytes(statement->column_blob(1)));
    heights[author][log] = SeqNum(static_cast<std::uint32_t>(statement->column_int(2)));
  }
  return heights;
}

Result<bool> SqliteTx::insert_operation(const Operation& operation, const LogId& log) {
  P2PANDA_TRY(exists, has_operation(operation.id()));
  if (exists) return false;
  P2PANDA_CHECK(append_operation(operation, log));
  return true;
}

Result<void> SqliteTx::append_operation(const Operation& operation, const LogId& log) {
  P2PANDA_TRY(statement,
              db_.prepare("INSERT INTO operations (id, author, log_id, seq_num, header, "
                          "header_size, payload_size, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  statement->bind(1, operation.id().bytes())
      .bind(2, operation.author().bytes())
      .bind(3, log.bytes())
      .bind(4, std::int64_t{operation.seq_num().value()})
      .bind(5, operation.header_bytes())
      .bind(6, static_cast<std::int64_t>(operation.header_bytes().size()))
      .bind(7, std::int64_t{operation.header().payload_size});
  if (operation.body()) {
    statement->bind(8, operation.body()->bytes());
  } else {
    statement->bind_null(8);
  }
  return statement->run();
}

Result<void> SqliteTx::associate(const Topic& topic, const PublicKey& author, const LogId& log) {
  P2PANDA_TRY(statement, db_.prepare("INSERT OR IGNORE INTO topic_logs (topic, author, log_id) "
                                     "VALUES (?, ?, ?)"));
  statement->bind(1, topic.bytes()).bind(2, author.bytes()).bind(3, log.bytes());
  return statement->run();
}

Result<std::uint64_t> SqliteTx::prune_entries(const PublicKey& author, const LogId& log,
                                              SeqNum until) {
  P2PANDA_TRY(statement, db_.prepare("DELETE FROM operations "
                                     "WHERE author = ? AND log_id = ? AND seq_num < ?"));
  statement->bind(1, author.bytes()).bind(2, log.bytes()).bind(3, std::int64_t{until.value()});
  P2PANDA_CHECK(statement->run());
  return static_cast<std::uint64_t>(db_.changes());
}

Result<bool> SqliteTx::delete_payload(const Hash& id) {
  P2PANDA_TRY(statement, db_.prepare("UPDATE operations SET body = NULL WHERE id = ?"));
  statement->bind(1, id.bytes());
  P2PANDA_CHECK(statement->run());
  return db_.changes() > 0;
}

}  // namespace p2panda::store

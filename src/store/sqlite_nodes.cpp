// SqliteTx: the address book.
#include "core/try.hpp"
#include "store/sqlite_tx.hpp"

namespace p2panda::store {
namespace {

constexpr const char* kNodeColumns =
    "SELECT node_id, info, bootstrap, updated_at, successes, failures, last_success, "
    "last_failure FROM nodes ";

std::optional<Timestamp> optional_time(const Statement& row, int column) {
  if (row.column_is_null(column)) return std::nullopt;
  return Timestamp(static_cast<std::uint64_t>(row.column_int(column)));
}

}  // namespace

Result<void> SqliteTx::load_topics(NodeRecord& record) {
  P2PANDA_TRY(statement, db_.prepare("SELECT topic FROM node_topics WHERE node_id = ? "
                                     "ORDER BY topic"));
  statement->bind(1, record.node_id.bytes());
  while (true) {
    P2PANDA_TRY(row, statement->step());
    if (!row) break;
    P2PANDA_TRY(topic, Topic::from_bytes(statement->column_blob(0)));
    record.topics.push_back(topic);
  }
  return {};
}

Result<std::vector<NodeRecord>> SqliteTx::read_nodes(Statement& statement) {
  std::vector<NodeRecord> records;
  while (true) {
    P2PANDA_TRY(row, statement.step());
    if (!row) break;
    NodeRecord record;
    P2PANDA_TRY(node_id, NodeId::from_bytes(statement.column_blob(0)));
    record.node_id = node_id;
    const ByteSpan info = statement.column_blob(1);
    record.info.assign(info.begin(), info.end());
    record.bootstrap = statement.column_int(2) != 0;
    record.updated_at = Timestamp(static_cast<std::uint64_t>(statement.column_int(3)));
    record.successes = static_cast<std::uint64_t>(statement.column_int(4));
    record.failures = static_cast<std::uint64_t>(statement.column_int(5));
    record.last_success = optional_time(statement, 6);
    record.last_failure = optional_time(statement, 7);
    records.push_back(std::move(record));
  }
  for (auto& record : records) P2PANDA_CHECK(load_topics(record));
  return records;
}

Result<std::optional<NodeRecord>> SqliteTx::node(const NodeId& node_id) {
  P2PANDA_TRY(statement, db_.prepare(std::string(kNodeColumns) + "WHERE node_id = ?"));
  statement->bind(1, node_id.bytes());
  P2PANDA_TRY(records, read_nodes(*statement));
  if (records.empty()) return std::optional<NodeRecord>{};
  return std::optional<NodeRecord>(std::move(records.front()));
}

Result<std::vector<NodeRecord>> SqliteTx::all_nodes() {
  P2PANDA_TRY(statement, db_.prepare(std::string(kNodeColumns) + "ORDER BY node_id"));
  return read_nodes(*statement);
}

Result<std::vector<NodeRecord>> SqliteTx::nodes_for_topic(const Topic& topic) {
  P2PANDA_TRY(statement, db_.prepare(std::string(kNodeColumns) +
                                     "WHERE node_id IN (SELECT node_id FROM node_topics "
                                     "WHERE topic = ?) ORDER BY node_id"));
  statement->bind(1, topic.bytes());
  return read_nodes(*statement);
}

Result<std::optional<NodeRecord>> SqliteTx::random_bootstrap_node() {
  P2PANDA_TRY(statement, db_.prepare(std::string(kNodeColumns) +
                                     "WHERE bootstrap = 1 ORDER BY RANDOM() LIMIT 1"));
  P2PANDA_TRY(records, read_nodes(*statement));
  if (records.empty()) return std::optional<NodeRecord>{};
  return std::optional<NodeRecord>(std::move(records.front()));
}

Result<void> SqliteTx::upsert_node(const NodeId& node_id, ByteSpan info, bool bootstrap,
                                   Timestamp updated_at) {
  P2PANDA_TRY(statement,
              db_.prepare("INSERT INTO nodes (node_id, info, bootstrap, updated_at) "
                          "VALUES (?, ?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET "
                          "info = excluded.info, bootstrap = MAX(bootstrap, excluded.bootstrap), "
                          "updated_at = excluded.updated_at"));
  statement->bind(1, node_id.bytes())
      .bind(2, info)
      .bind(3, std::int64_t{bootstrap ? 1 : 0})
      .bind(4, static_cast<std::int64_t>(updated_at.value()));
  return statement->run();
}

Result<void> SqliteTx::set_node_topics(const NodeId& node_id, std::span<const Topic> topics) {
  P2PANDA_TRY(remove, db_.prepare("DELETE FROM node_topics WHERE node_id = ?"));
  remove->bind(1, node_id.bytes());
  P2PANDA_CHECK(remove->run());
  P2PANDA_TRY(insert, db_.prepare("INSERT OR IGNORE INTO node_topics (node_id, topic) "
                                  "VALUES (?, ?)"));
  for (const Topic& topic : topics) {
    insert->reset();
    insert->bind(1, node_id.bytes()).bind(2, topic.bytes());
    P2PANDA_CHECK(insert->run());
  }
  return {};
}

Result<void> SqliteTx::record_connection(const NodeId& node_id, bool success, Timestamp at) {
  P2PANDA_TRY(statement,
              db_.prepare(success ? "UPDATE nodes SET successes = successes + 1, "
                                    "last_success = ? WHERE node_id = ?"
                                  : "UPDATE nodes SET failures = failures + 1, "
                                    "last_failure = ? WHERE node_id = ?"));
  statement->bind(1, static_cast<std::int64_t>(at.value())).bind(2, node_id.bytes());
  return statement->run();
}

Result<bool> SqliteTx::remove_node(const NodeId& node_id) {
  P2PANDA_TRY(statement, db_.prepare("DELETE FROM nodes WHERE node_id = ?"));
  statement->bind(1, node_id.bytes());
  P2PANDA_CHECK(statement->run());
  return db_.changes() > 0;
}

Result<std::uint64_t> SqliteTx::remove_nodes_older_than(Timestamp cutoff) {
  P2PANDA_TRY(statement, db_.prepare("DELETE FROM nodes WHERE bootstrap = 0 AND updated_at < ?"));
  statement->bind(1, static_cast<std::int64_t>(cutoff.value()));
  P2PANDA_CHECK(statement->run());
  return static_cast<std::uint64_t>(db_.changes());
}

}  // namespace p2panda::store

// SqliteTx: the StoreWriter (and so StoreReader) implementation over one SQLite connection. It
// issues plain statements; the transaction around them belongs to SqliteStore. Used only on the
// thread that owns the connection.
#pragma once

#include "store/sqlite.hpp"
#include "store/store.hpp"

namespace p2panda::store {

class SqliteTx final : public StoreWriter {
 public:
  explicit SqliteTx(Connection& connection) : db_(connection) {}

  Result<bool> has_operation(const Hash& id) override;
  Result<std::optional<Operation>> get_operation(const Hash& id) override;
  Result<std::optional<Operation>> latest_entry(const PublicKey& author, const LogId& log) override;
  Result<std::optional<Hash>> latest_id(const PublicKey& author, const LogId& log) override;
  Result<std::optional<Hash>> latest_released_id(const PublicKey& author,
                                                 const LogId& log) override;
  Result<std::optional<SeqNum>> lowest_seq(const PublicKey& author, const LogId& log) override;
  Result<std::map<LogId, SeqNum>> log_heights(const PublicKey& author,
                                              std::span<const LogId> logs) override;
  Result<LogSize> log_size(const PublicKey& author, const LogId& log, std::optional<SeqNum> after,
                           std::optional<SeqNum> until) override;
  Result<std::vector<Operation>> log_entries(const PublicKey& author, const LogId& log,
                                             std::optional<SeqNum> after,
                                             std::optional<SeqNum> until) override;
  Result<LogPage> log_page(const PublicKey& author, const LogId& log, std::optional<SeqNum> after,
                           SeqNum until, std::size_t limit) override;
  Result<std::uint64_t> bodies_in(const PublicKey& author, const LogId& log,
                                  std::optional<SeqNum> after, SeqNum until) override;
  Result<std::map<PublicKey, std::vector<LogId>>> resolve_topic(const Topic& topic) override;
  Result<LogHeights> topic_heights(const Topic& topic) override;
  Result<std::optional<Cursor>> get_cursor(const std::string& name) override;
  Result<bool> orderer_is_ready(const Hash& id) override;
  Result<std::uint64_t> orderer_pending_count() override;
  Result<std::uint64_t> orderer_held_count(const LogId& log) override;
  Result<std::vector<Hash>> orderer_waiting_for(const Hash& id) override;
  Result<bool> orderer_awaited(const Hash& dependency) override;
  Result<bool> orderer_any_pending() override;
  Result<bool> orderer_holds(const LogId& log) override;
  Result<std::vector<Hash>> orderer_dependencies() override;
  Result<std::optional<NodeRecord>> node(const NodeId& node_id) override;
  Result<std::vector<NodeRecord>> all_nodes() override;
  Result<std::vector<NodeRecord>> nodes_for_topic(const Topic& topic) override;
  Result<std::optional<NodeRecord>> random_bootstrap_node() override;

  Result<bool> insert_operation(const Operation& operation, const LogId& log) override;
  Result<void> append_operation(const Operation& operation, const LogId& log) override;
  Result<void> associate(const Topic& topic, const PublicKey& author, const LogId& log) override;
  Result<std::uint64_t> prune_entries(const PublicKey& author, const LogId& log,
                                      SeqNum until) override;
  Result<bool> delete_payload(const Hash& id) override;
  Result<void> set_cursor(const Cursor& cursor) override;
  Result<void> merge_cursor(const Cursor& cursor) override;
  Result<void> delete_cursor(const std::string& name) override;
  Result<void> orderer_mark_ready(const Hash& id) override;
  Result<void> orderer_add_pending(const Hash& id, const LogId& log,
                                   std::span<const Hash> missing) override;
  Result<std::vector<Hash>> orderer_resolve(const Hash& dependency) override;
  Result<void> upsert_node(const NodeId& node_id, ByteSpan info, bool bootstrap,
                           Timestamp updated_at) override;
  Result<void> set_node_topics(const NodeId& node_id, std::span<const Topic> topics) override;
  Result<void> record_connection(const NodeId& node_id, bool success, Timestamp at) override;
  Result<bool> remove_node(const NodeId& node_id) override;
  Result<std::uint64_t> remove_nodes_older_than(Timestamp cutoff) override;

 private:
  // Rows of the log with after < seq <= until, in order, at most `limit` (-1: all).
  Result<LogPage> rows(const PublicKey& author, const LogId& log, std::int64_t after,
                       std::int64_t until, std::int64_t limit);
  // The id in the first row of `sql`, which selects by (author, log_id).
  Result<std::optional<Hash>> first_id(const char* sql, const PublicKey& author, const LogId& log);
  Result<std::vector<NodeRecord>> read_nodes(Statement& statement);
  Result<void> load_topics(NodeRecord& record);

  Connection& db_;
};

}  // namespace p2panda::store

// Store interfaces: what the processors (src/stream/) and sync use, independent of SQLite.
//
// StoreReader answers queries; StoreWriter adds the writes. Both are only valid inside a job
// passed to Store::read or Store::write, which run on the store's own threads: a write job runs
// inside one transaction together with other jobs (group commit) and its effects are either all
// committed or, when the job returns an error, all rolled back. A job's result is reported only
// after its transaction committed, so "done" always means "durable" (to the configured
// synchronous level). Store itself is thread-safe; readers and writers are not.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include <p2panda/log_heights.hpp>
#include <p2panda/operation.hpp>

namespace p2panda::store {

struct LogSize {
  std::uint64_t operations = 0;
  std::uint64_t bytes = 0;  // header bytes + payload sizes
  friend bool operator==(const LogSize&, const LogSize&) = default;
};

// A stored entry whose row no longer decodes (a damaged disk, say): where it is, its id when
// that still reads, and why. Readers of a log page skip it instead of failing, so that one
// damaged entry does not stop a subscription or a sync session at that log for good.
struct DamagedEntry {
  SeqNum seq;
  std::optional<Hash> id;
  Error error;
};

// Up to `limit` rows of a log range in seq order: the entries that decode, the damaged ones,
// and how far the page got (`rows` counts both kinds; fewer than the limit: the range is done).
struct LogPage {
  std::vector<Operation> entries;
  std::vector<DamagedEntry> damaged;
  std::size_t rows = 0;
  std::optional<SeqNum> last;  // the seq of the page's last row, decoded or not
};

// One known node in the address book.
struct NodeRecord {
  NodeId node_id;
  Bytes info;  // signed transport info, opaque to the store
  bool bootstrap = false;
  Timestamp updated_at;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::optional<Timestamp> last_success;
  std::optional<Timestamp> last_failure;
  std::vector<Topic> topics;  // ascending
  friend bool operator==(const NodeRecord&, const NodeRecord&) = default;
};

class StoreReader {
 public:
  virtual ~StoreReader() = default;

  // Operations and logs. Ranges are (after, until]: after = nullopt starts at the log's first
  // entry, until = nullopt runs to its last.
  virtual Result<bool> has_operation(const Hash& id) = 0;
  virtual Result<std::optional<Operation>> get_operation(const Hash& id) = 0;
  virtual Result<std::optional<Operation>> latest_entry(const PublicKey& author,
                                                        const LogId& log) = 0;
  virtual Result<std::optional<SeqNum>> lowest_seq(const PublicKey& author, const LogId& log) = 0;
  // The id of the log's latest entry, without reading the entry (nullopt: empty log).
  virtual Result<std::optional<Hash>> latest_id(const PublicKey& author, const LogId& log) = 0;
  // The same, leaving out entries the causal orderer holds back.
  virtual Result<std::optional<Hash>> latest_released_id(const PublicKey& author,
                                                         const LogId& log) = 0;
  virtual Result<std::map<LogId, SeqNum>> log_heights(const PublicKey& author,
                                                      std::span<const LogId> logs) = 0;
  virtual Result<LogSize> log_size(const PublicKey& author, const LogId& log,
                                   std::optional<SeqNum> after, std::optional<SeqNum> until) = 0;
  virtual Result<std::vector<Operation>> log_entries(const PublicKey& author, const LogId& log,
                                                     std::optional<SeqNum> after,
                                                     std::optional<SeqNum> until) = 0;
  // The same, at most `limit` rows from the start of the range: a long log a page at a time.
  // Unlike log_entries, a row that does not decode is reported in the page, not as an error.
  virtual Result<LogPage> log_page(const PublicKey& author, const LogId& log,
                                                  std::optional<SeqNum> after, SeqNum until,
                                                  std::size_t limit) = 0;
  // How many entries of the range have their body: what a subscription delivers of it.
  virtual Result<std::uint64_t> bodies_in(const PublicKey& author, const LogId& log,
                                          std::optional<SeqNum> after, SeqNum until) = 0;

  // Topics: which (author, log) pairs belong to a topic, and their heights.
  virtual Result<std::map<PublicKey, std::vector<LogId>>> resolve_topic(const Topic& topic) = 0;
  virtual Result<LogHeights> topic_heights(const Topic& topic) = 0;

  // Ack cursors.
  virtual Result<std::optional<Cursor>> get_cursor(const std::string& name) = 0;

  // Causal orderer state.
  virtual Result<bool> orderer_is_ready(const Hash& id) = 0;
  // Distinct held-back operations of the node, for diagnostics and tests (a full scan).
  virtual Result<std::uint64_t> orderer_pending_count() = 0;
  // Held-back operations of this log id (pruned ones too: their rows remain until released),
  // what counts against a topic's bound. Reads an index range of that log's entries only.
  virtual Result<std::uint64_t> orderer_held_count(const LogId& log) = 0;
  virtual Result<std::vector<Hash>> orderer_waiting_for(const Hash& id) = 0;
  virtual Result<bool> orderer_awaited(const Hash& dependency) = 0;  // something waits for it
  virtual Result<bool> orderer_any_pending() = 0;                     // cheap, unlike the count
  // Whether a stored operation of this log id (a topic's, for every author) is held back.
  virtual Result<bool> orderer_holds(const LogId& log) = 0;
  virtual Result<std::vector<Hash>> orderer_dependencies() = 0;  // what the held-back wait for

  // Address book.
  virtual Result<std::optional<NodeRecord>> node(const NodeId& node_id) = 0;
  virtual Result<std::vector<NodeRecord>> all_nodes() = 0;
  virtual Result<std::vector<NodeRecord>> nodes_for_topic(const Topic& topic) = 0;
  virtual Result<std::optional<NodeRecord>> random_bootstrap_node() = 0;
};

class StoreWriter : public StoreReader {
 public:
  // Inserts the operation into `log`. Returns false when an operation with this id exists.
  // Errors: StoreFailed (another operation already holds this log position: a fork), Store*.
  virtual Result<bool> insert_operation(const Operation& operation, const LogId& log) = 0;
  // Inserts an operation known to be new (the node's own, signed a moment ago from its log's
  // head), without looking first. Errors: StoreFailed when its id or its log position is taken
  // (the head was wrong: a fork is refused, not stored), Store*.
  virtual Result<void> append_operation(const Operation& operation, const LogId& log) = 0;
  virtual Result<void> associate(const Topic& topic, const PublicKey& author, const LogId& log) = 0;
  // Deletes the log's entries with seq < until. Returns how many were deleted. A deleted entry
  // the orderer holds back keeps waiting (its release resolves what waits for it) and keeps its
  // place in the topic's bound: its rows are still there.
  virtual Result<std::uint64_t> prune_entries(const PublicKey& author, const LogId& log,
                                              SeqNum until) = 0;
  // Keeps the header, drops the body. Returns whether the operation exists.
  virtual Result<bool> delete_payload(const Hash& id) = 0;

  // Replaces the stored cursor of this name (a reset: StreamFrom::Start or a given cursor).
  virtual Result<void> set_cursor(const Cursor& cursor) = 0;
  // An ack: the stored cursor of this name moves to `cursor` where that is further, never back,
  // so two subscriptions sharing a name do not undo each other's acks. A stored one that no
  // longer decodes is replaced.
  virtual Result<void> merge_cursor(const Cursor& cursor) = 0;
  virtual Result<void> delete_cursor(const std::string& name) = 0;

  virtual Result<void> orderer_mark_ready(const Hash& id) = 0;
  // Holds back `id`, an operation of `log`, until each of `missing` is released.
  virtual Result<void> orderer_add_pending(const Hash& id, const LogId& log,
                                           std::span<const Hash> missing) = 0;
  // Removes the "waits for `dependency`" rows and returns, in arrival order, the operations that
  // now wait for nothing else.
  virtual Result<std::vector<Hash>> orderer_resolve(const Hash& dependency) = 0;

  // Inserts or updates a node (info, bootstrap flag, updated_at; metrics are kept).
  virtual Result<void> upsert_node(const NodeId& node_id, ByteSpan info, bool bootstrap,
                                   Timestamp updated_at) = 0;
  virtual Result<void> set_node_topics(const NodeId& node_id, std::span<const Topic> topics) = 0;
  virtual Result<void> record_connection(const NodeId& node_id, bool success, Timestamp at) = 0;
  virtual Result<bool> remove_node(const NodeId& node_id) = 0;
  // Removes non-bootstrap nodes last updated before `cutoff`; returns how many.
  virtual Result<std::uint64_t> remove_nodes_older_than(Timestamp cutoff) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  using ReadJob = std::function<Result<void>(StoreReader&)>;
  using WriteJob = std::function<Result<void>(StoreWriter&)>;
  using Done = std::function<void(Result<void>)>;

  // Queues `job`; `done` runs on the writer thread after the job's transaction committed (or
  // with the job's or the commit's error). Never blocks on I/O. Errors passed to done: the job's
  // own, StoreFull / StoreIo / StoreCorrupt when committing failed (nothing of the job was kept),
  // StoreClosed after close().
  virtual void submit(WriteJob job, Done done) = 0;

  // Blocking forms. read() runs on a reader connection (or the writer, for in-memory databases).
  virtual Result<void> write(WriteJob job) = 0;
  virtual Result<void> read(ReadJob job) = 0;

  // Finishes queued jobs, then stops accepting new ones. Idempotent.
  virtual void close() = 0;

  // Convenience: run a job returning a value.
  template <class F>
  auto query(F&& job) -> decltype(job(std::declval<StoreReader&>())) {
    using R = decltype(job(std::declval<StoreReader&>()));
    std::optional<R> out;
    auto status = read([&](StoreReader& reader) -> Result<void> {
      out.emplace(job(reader));
      return {};
    });
    if (!status) return Unexpected{std::move(status).error()};
    return std::move(*out);
  }
  template <class F>
  auto transact(F&& job) -> decltype(job(std::declval<StoreWriter&>())) {
    using R = decltype(job(std::declval<StoreWriter&>()));
    std::optional<R> out;
    auto status = write([&](StoreWriter& writer) -> Result<void> {
      out.emplace(job(writer));
      if (!out->has_value()) return Unexpected{out->error()};
      return {};
    });
    if (!status) return Unexpected{std::move(status).error()};
    return std::move(*out);
  }
};

}  // namespace p2panda::store

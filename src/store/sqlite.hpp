// Thin RAII wrappers over the SQLite C API: Connection owns a sqlite3 handle and a cache of
// prepared statements; Statement binds, steps and reads columns. Every SQLite failure becomes an
// Error whose code says what the caller can do (StoreFull: free space; StoreReadOnly: fix
// permissions; StoreCorrupt: restore from a copy; StoreBusy: retry) and whose message carries
// SQLite's own text. A Connection is used by one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace p2panda::store {

// Maps an SQLite result code (primary or extended) to our error.
Error sqlite_error(int code, const std::string& context, sqlite3* db = nullptr);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, ByteSpan blob);
  Statement& bind(int index, std::string_view text);
  Statement& bind_null(int index);

  // True when a row is available, false when done. Errors: Store*.
  Result<bool> step();
  // Steps until done. Errors: Store*.
  Result<void> run();
  // Resets for reuse and clears bindings.
  void reset();

  std::int64_t column_int(int index) const;
  ByteSpan column_blob(int index) const;
  std::string_view column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_;
};

// A borrowed cached statement; resets it when dropped, so no statement stays active (an active
// statement would pin a read snapshot and block WAL checkpoints).
class Lease {
 public:
  explicit Lease(Statement* statement) : statement_(statement) {}
  Lease(Lease&& other) noexcept : statement_(std::exchange(other.statement_, nullptr)) {}
  Lease(const Lease&) = delete;
  ~Lease() {
    if (statement_) statement_->reset();
  }
  Statement* operator->() const { return statement_; }
  Statement& operator*() const { return *statement_; }

 private:
  Statement* statement_;
};

class Connection {
 public:
  // Opens (and creates, unless read_only) the database at `path`; ":memory:" for a private
  // in-memory database. Errors: StoreOpenFailed, StoreReadOnly, StoreCorrupt.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, bool read_only = false);
  ~Connection();

  // Runs one or more statements without results, parsing them every time. Errors: Store*.
  Result<void> exec(const std::string& sql);
  // Runs one statement without results through the statement cache (for the writer's BEGIN,
  // SAVEPOINT, RELEASE and COMMIT, which run for every batch). Errors: Store*.
  Result<void> run(std::string_view sql);

  // A cached prepared statement, reset and ready to bind. REQUIRES: the previous use of the
  // same SQL text is finished (statements are not re-entrant). Errors: Store*.
  Result<Lease> prepare(std::string_view sql);

  // The first column of the first row as an integer (for PRAGMAs and counts). Errors: Store*.
  Result<std::int64_t> query_int(const std::string& sql);

  std::int64_t changes() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  // Looked up by the SQL text without copying it (most callers pass a literal).
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  std::unordered_map<std::string, std::unique_ptr<Statement>, TextHash, std::equal_to<>>
      statements_;
};

}  // namespace p2panda::store

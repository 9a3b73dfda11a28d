#include "store/sqlite.hpp"

#include <sqlite3.h>

namespace p2panda::store {

Error sqlite_error(int code, const std::string& context, sqlite3* db) {
  const std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  const std::string message = context + ": " + detail + " (sqlite " + std::to_string(code) + ")";
  switch (code & 0xff) {
    case SQLITE_FULL:
      return Error(Errc::StoreFull, message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Error(Errc::StoreReadOnly, message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error(Errc::StoreCorrupt, message);
    case SQLITE_CANTOPEN:
      return Error(Errc::StoreOpenFailed, message);
    case SQLITE_IOERR:
      return Error(Errc::StoreIo, message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(Errc::StoreBusy, message);
    default:
      return Error(Errc::StoreFailed, message);
  }
}

Statement::~Statement() { sqlite3_finalize(statement_); }

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(statement_, index, value);
  return *this;
}

Statement& Statement::bind(int index, ByteSpan blob) {
  // SQLITE_STATIC: callers keep the bytes alive until the statement has run.
  sqlite3_bind_blob(statement_, index, blob.empty() ? "" : static_cast<const void*>(blob.data()),
                    static_cast<int>(blob.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(statement_, index);
  return *this;
}

Result<bool> Statement::step() {
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return true;
  if (code == SQLITE_DONE) return false;
  Error error = sqlite_error(code, sqlite3_sql(statement_), db_);
  sqlite3_reset(statement_);
  return Unexpected{std::move(error)};
}

Result<void> Statement::run() {
  while (true) {
    auto row = step();
    if (!row) return Unexpected{std::move(row).error()};
    if (!*row) return {};
  }
}

void Statement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

std::int64_t Statement::column_int(int index) const {
  return sqlite3_column_int64(statement_, index);
}

ByteSpan Statement::column_blob(int index) const {
  const void* data = sqlite3_column_blob(statement_, index);
  const int size = sqlite3_column_bytes(statement_, index);
  return {static_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)};
}

std::string_view Statement::column_text(int index) const {
  const auto* data = sqlite3_column_text(statement_, index);
  const int size = sqlite3_column_bytes(statement_, index);
  return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)};
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(statement_, index) == SQLITE_NULL;
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  const int code = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (code != SQLITE_OK) {
    Error error = sqlite_error(code, "opening " + path, db);
    sqlite3_close(db);
    return Unexpected{std::move(error)};
  }
  sqlite3_extended_result_codes(db, 1);
  // Other connections (readers, a second process) may hold locks briefly: wait rather than fail.
  sqlite3_busy_timeout(db, 5000);
  // Memory-mapped reads skip a pread and a copy per page: logs written interleaved with others
  // are spread over many pages, and reading one back touches each of them.
  sqlite3_exec(db, "PRAGMA mmap_size = 268435456; PRAGMA cache_size = -16384", nullptr, nullptr,
               nullptr);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  statements_.clear();  // finalize before closing, or sqlite3_close refuses
  sqlite3_close(db_);
}

Result<void> Connection::exec(const std::string& sql) {
  char* message = nullptr;
  const int code = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (code != SQLITE_OK) {
    Error error = sqlite_error(code, message ? message : sql, nullptr);
    sqlite3_free(message);
    return Unexpected{std::move(error)};
  }
  return {};
}

Result<void> Connection::run(std::string_view sql) {
  auto statement = prepare(sql);
  if (!statement) return Unexpected{std::move(statement).error()};
  return (*statement)->run();
}

Result<Lease> Connection::prepare(std::string_view sql) {
  auto found = statements_.find(sql);
  if (found != statements_.end()) {
    found->second->reset();
    return Lease(found->second.get());
  }
  sqlite3_stmt* statement = nullptr;
  const int code = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
  if (code != SQLITE_OK) {
    return Unexpected{sqlite_error(code, "preparing " + std::string(sql), db_)};
  }
  auto [position, inserted] =
      statements_.emplace(std::string(sql), std::make_unique<Statement>(db_, statement));
  return Lease(position->second.get());
}

Result<std::int64_t> Connection::query_int(const std::string& sql) {
  auto statement = prepare(sql);
  if (!statement) return Unexpected{std::move(statement).error()};
  auto row = (*statement)->step();
  if (!row) return Unexpected{std::move(row).error()};
  return *row ? (*statement)->column_int(0) : 0;
}

std::int64_t Connection::changes() const { return sqlite3_changes64(db_); }

}  // namespace p2panda::store

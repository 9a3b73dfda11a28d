// The database schema as an ordered list of migrations, applied on open. PRAGMA user_version holds
// the number of migrations applied; a database from a newer version of p2panda-cpp (a higher
// user_version than we know) is refused rather than misread. Used only by SqliteStore::open.
#pragma once

#include "store/sqlite.hpp"

namespace p2panda::store {

// The schema version this build writes.
int latest_schema_version();

// Applies the missing migrations, each in its own transaction.
// Errors: StoreSchemaTooNew, and Store* from SQLite.
Result<void> migrate(Connection& connection);

}  // namespace p2panda::store

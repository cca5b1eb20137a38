#pragma once

#include <sqlite3.h>
#include <string>

namespace rcbroker::test_support {

/// The runs the journal file at `path` holds, read as an operator would (sqlite3, SQLite's own
/// VFS, beside a running node); -1 when it cannot be read.
inline long journal_rows(const std::string& path) {
  sqlite3* db = nullptr;
  long rows = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
      rows = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return rows;
}

} // namespace rcbroker::test_support

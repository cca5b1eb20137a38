#include "rcbroker/journal/journal_checkpointer.hpp"

#include "rcbroker/journal/coalescing_vfs.hpp"

#include <sqlite3.h>

namespace rcbroker::journal {

std::unique_ptr<journal_checkpointer>
journal_checkpointer::open(const std::string& path, journal_sync sync, std::string& error) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                           coalescing_vfs_name());
  std::unique_ptr<journal_checkpointer> result{new journal_checkpointer(db)};
  // The checkpoint syncs as this connection's `synchronous` says: the journal's setting.
  const char* synchronous = synchronous_pragma(sync);
  if (rc != SQLITE_OK ||
      sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_exec(db, synchronous, nullptr, nullptr, nullptr) != SQLITE_OK) {
    error = "journal " + path + ": the checkpointer cannot open it: " + sqlite3_errmsg(db);
    return nullptr;
  }
  return result;
}

journal_checkpointer::~journal_checkpointer() {
  sqlite3_close_v2(db_);
}

bool journal_checkpointer::run(std::string& error) {
  int log_frames = 0;
  int copied = 0;
  if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied) !=
      SQLITE_OK) {
    error = sqlite3_errmsg(db_);
    return false;
  }
  return true;
}

} // namespace rcbroker::journal

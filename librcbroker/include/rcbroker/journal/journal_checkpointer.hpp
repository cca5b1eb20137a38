#pragma once

#include "rcbroker/journal/journal_store.hpp"

#include <memory>
#include <string>

struct sqlite3;

namespace rcbroker::journal {

/// A second connection to a journal that only checkpoints: it copies the pages the write-ahead
/// log holds into the database file and syncs both as `journal-sync` asks, while the journal's own
/// connection goes on writing (SQLite's passive checkpoint never blocks the writer). Plain code;
/// the journal's checkpointer actor owns one.
class journal_checkpointer {
public:
  /// Opens one on the journal at `path` (which the journal_store has opened and set up).
  static std::unique_ptr<journal_checkpointer> open(const std::string& path, journal_sync sync,
                                                    std::string& error);

  ~journal_checkpointer();
  journal_checkpointer(const journal_checkpointer&) = delete;
  journal_checkpointer& operator=(const journal_checkpointer&) = delete;

  /// One passive checkpoint; false with `error` when it failed.
  bool run(std::string& error);

private:
  explicit journal_checkpointer(sqlite3* db) : db_(db) {}

  sqlite3* db_ = nullptr;
};

} // namespace rcbroker::journal

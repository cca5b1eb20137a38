#pragma once

#include "rcbroker/journal/journal_entry.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace rcbroker::journal {

/// When a journal write reaches the disk (`journal-sync`).
enum class journal_sync {
  always, ///< every batch is fsynced before it counts as written (SQLite synchronous=FULL)
  batch,  ///< batches go to the write-ahead log, fsynced at checkpoints (synchronous=NORMAL)
  off,    ///< the operating system decides (synchronous=OFF): a power loss may lose batches
};

/// Reads "always", "batch" or "off".
bool parse_journal_sync(std::string_view text, journal_sync& out);

/// The setting's spelling.
const char* to_string(journal_sync sync) noexcept;

/// The SQLite statement that sets a connection's `synchronous` for `sync`.
const char* synchronous_pragma(journal_sync sync) noexcept;

/// The detached and queued runs of a node in an SQLite database (WAL mode): plain code, no
/// actors; the journal actor owns one and is the only one to call it. See docs/RELIABILITY.md.
class journal_store {
public:
  /// How opening a journal went.
  struct open_result {
    std::unique_ptr<journal_store> store; ///< set when it opened
    std::string error;                    ///< what went wrong, for the operator
    /// The file is not a journal (corrupt, or another database): the node must not start on it.
    /// Otherwise a failure is one of the file system (read-only, full) that may pass.
    bool unusable = false;
    /// Another process (another node) holds the file: it may end, so the start fails, not for good.
    bool in_use = false;
  };

  /// Opens (or creates) the journal at `path`.
  static open_result open(const std::string& path, journal_sync sync);

  ~journal_store();
  journal_store(const journal_store&) = delete;
  journal_store& operator=(const journal_store&) = delete;

  /// Every run it holds, oldest first; false with `error` when they cannot be read.
  bool load(std::vector<journal_entry>& out, std::string& error);

  /// Applies `entries` in order in one transaction (all or nothing); false with `error` set when
  /// it failed, e.g. on a full or read-only file system.
  bool apply(const std::vector<journal_entry>& entries, std::string& error);

  /// The runs it holds.
  std::uint64_t size() const noexcept { return rows_.size(); }

  /// Its file.
  const std::string& path() const noexcept { return path_; }

  /// The frames its write-ahead log holds (they go back to 0 when the log starts over, after
  /// every frame was copied into the database file).
  int log_frames() const noexcept { return log_frames_; }

  /// Copies the log into the database file on this connection (a passive checkpoint, synced as
  /// `journal-sync` says); false with `error` when it failed.
  bool checkpoint(std::string& error);

private:
  journal_store(sqlite3* db, std::string path);
  bool prepare(std::string& error);
  bool index(std::string& error);
  std::string last_error() const;

  sqlite3* db_ = nullptr;
  int lock_fd_ = -1; ///< holds the flock that keeps a second node off the file
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* remove_ = nullptr;
  std::string path_;
  /// The row of each cookie it holds (its sequence, SQLite's rowid): a removal deletes by rowid,
  /// one of a cookie it does not hold costs nothing, and the table needs no index of its own.
  std::unordered_map<protocol::cookie, std::int64_t> rows_;
  std::int64_t next_sequence_ = 1;
  int log_frames_ = 0;
};

} // namespace rcbroker::journal

#include "rcbroker/journal/journal_store.hpp"

#include "rcbroker/journal/coalescing_vfs.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

namespace rcbroker::journal {

namespace {

/// Marks the file as an rcbroker journal (SQLite's application_id; "rcbj").
constexpr std::int32_t application_id = 0x72636a6a;

/// Whether an SQLite result code says the file is no database it can use.
bool means_unusable(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_FORMAT;
}

std::int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// A statement that runs once and is finalized as it goes out of scope.
class statement {
public:
  statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  int prepared() const noexcept { return rc_; }
  int step() noexcept { return sqlite3_step(stmt_); }
  sqlite3_stmt* get() const noexcept { return stmt_; }

private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

} // namespace

bool parse_journal_sync(std::string_view text, journal_sync& out) {
  if (text == "always")
    out = journal_sync::always;
  else if (text == "batch")
    out = journal_sync::batch;
  else if (text == "off")
    out = journal_sync::off;
  else
    return false;
  return true;
}

const char* to_string(journal_sync sync) noexcept {
  switch (sync) {
  case journal_sync::always:
    return "always";
  case journal_sync::batch:
    return "batch";
  default:
    return "off";
  }
}

const char* synchronous_pragma(journal_sync sync) noexcept {
  switch (sync) {
  case journal_sync::always:
    return "PRAGMA synchronous=FULL";
  case journal_sync::batch:
    return "PRAGMA synchronous=NORMAL";
  default:
    return "PRAGMA synchronous=OFF";
  }
}

journal_store::journal_store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

journal_store::~journal_store() {
  sqlite3_finalize(begin_);
  sqlite3_finalize(commit_);
  sqlite3_finalize(insert_);
  sqlite3_finalize(remove_);
  sqlite3_close_v2(db_);
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

std::string journal_store::last_error() const {
  return std::string{sqlite3_errmsg(db_)} + " (SQLite code " +
         std::to_string(sqlite3_extended_errcode(db_)) + ")";
}

journal_store::open_result journal_store::open(const std::string& path, journal_sync sync) {
  open_result result;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           coalescing_vfs_name());
  std::unique_ptr<journal_store> store{new journal_store(db, path)};
  auto fail = [&](int code) {
    result.error = "journal " + path + ": " + store->last_error();
    result.unusable = means_unusable(code);
    return std::move(result);
  };
  if (rc != SQLITE_OK)
    return fail(rc);
  // Two nodes on one journal would each run the other's runs: the first holds a lock on the file
  // (flock, apart from SQLite's own fcntl locks, so that sqlite3 may still read it) until it ends.
  store->lock_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (store->lock_fd_ >= 0 && ::flock(store->lock_fd_, LOCK_EX | LOCK_NB) != 0 &&
      errno == EWOULDBLOCK) {
    result.error =
        "journal " + path + ": another process uses it (a node needs a journal of its own)";
    result.in_use = true;
    return result;
  }
  sqlite3_extended_result_codes(db, 1);
  // An operator reading the file with sqlite3 holds a lock for a moment: wait rather than fail.
  sqlite3_busy_timeout(db, 2000);
  auto run = [&](const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); };
  // Reading the header first tells a file that is no database (or a damaged one) apart.
  {
    statement id{db, "PRAGMA application_id"};
    if (id.prepared() != SQLITE_OK)
      return fail(id.prepared());
    rc = id.step();
    if (rc != SQLITE_ROW)
      return fail(rc);
    auto found = sqlite3_column_int(id.get(), 0);
    if (found != 0 && found != application_id) {
      result.error = "journal " + path + ": an SQLite database of another application";
      result.unusable = true;
      return result;
    }
    if (found == 0) {
      statement tables{db, "SELECT count(*) FROM sqlite_master WHERE name <> 'runs'"};
      if (tables.prepared() != SQLITE_OK || tables.step() != SQLITE_ROW)
        return fail(sqlite3_errcode(db));
      if (sqlite3_column_int64(tables.get(), 0) > 0) {
        result.error = "journal " + path + ": an SQLite database with tables of its own";
        result.unusable = true;
        return result;
      }
    }
  }
  {
    statement check{db, "PRAGMA quick_check"};
    if (check.prepared() != SQLITE_OK)
      return fail(check.prepared());
    rc = check.step();
    if (rc != SQLITE_ROW)
      return fail(rc);
    std::string verdict{reinterpret_cast<const char*>(sqlite3_column_text(check.get(), 0))};
    if (verdict != "ok") {
      result.error = "journal " + path + ": damaged: " + verdict;
      result.unusable = true;
      return result;
    }
  }
  {
    statement mode{db, "PRAGMA journal_mode=WAL"};
    if (mode.prepared() != SQLITE_OK)
      return fail(mode.prepared());
    rc = mode.step();
    if (rc != SQLITE_ROW)
      return fail(rc);
    std::string got{reinterpret_cast<const char*>(sqlite3_column_text(mode.get(), 0))};
    if (got != "wal") {
      result.error = "journal " + path + ": SQLite could not use WAL mode here (got " + got + ")";
      return result;
    }
  }
  const char* synchronous = synchronous_pragma(sync);
  if ((rc = run(synchronous)) != SQLITE_OK)
    return fail(rc);
  // Checkpoints are the checkpointer's (a thread of its own) and checkpoint()'s, never a commit's:
  // a commit that checkpoints waits for an fsync of the whole log.
  if ((rc = run("PRAGMA wal_autocheckpoint=0")) != SQLITE_OK)
    return fail(rc);
  sqlite3_wal_hook(
      db,
      [](void* self, sqlite3*, const char*, int frames) {
        static_cast<journal_store*>(self)->log_frames_ = frames;
        return SQLITE_OK;
      },
      store.get());
  if ((rc = run("PRAGMA journal_size_limit=67108864")) != SQLITE_OK)
    return fail(rc);
  rc = run("CREATE TABLE IF NOT EXISTS runs ("
           "sequence INTEGER PRIMARY KEY, cookie TEXT NOT NULL, "
           "detach INTEGER NOT NULL, priority INTEGER NOT NULL, retries INTEGER NOT NULL, "
           "journaled_unix_ms INTEGER NOT NULL, run BLOB NOT NULL)");
  if (rc != SQLITE_OK)
    return fail(rc);
  if ((rc = run(("PRAGMA application_id=" + std::to_string(application_id)).c_str())) != SQLITE_OK)
    return fail(rc);
  std::string error;
  if (!store->prepare(error) || !store->index(error)) {
    result.error = "journal " + path + ": " + error;
    result.unusable = means_unusable(sqlite3_errcode(db));
    return result;
  }
  result.store = std::move(store);
  return result;
}

bool journal_store::prepare(std::string& error) {
  auto prepare = [this](const char* sql, sqlite3_stmt** stmt) {
    return sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) == SQLITE_OK;
  };
  if (!prepare("BEGIN IMMEDIATE", &begin_) || !prepare("COMMIT", &commit_) ||
      !prepare("INSERT OR REPLACE INTO runs (sequence, cookie, detach, priority, retries, "
               "journaled_unix_ms, run) VALUES (?, ?, ?, ?, ?, ?, ?)",
               &insert_) ||
      !prepare("DELETE FROM runs WHERE sequence = ?", &remove_)) {
    error = last_error();
    return false;
  }
  return true;
}

bool journal_store::index(std::string& error) {
  statement rows{db_, "SELECT cookie, sequence FROM runs ORDER BY sequence"};
  if (rows.prepared() != SQLITE_OK) {
    error = last_error();
    return false;
  }
  int rc;
  while ((rc = rows.step()) == SQLITE_ROW) {
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), 0));
    std::int64_t sequence = sqlite3_column_int64(rows.get(), 1);
    next_sequence_ = std::max(next_sequence_, sequence + 1);
    // A cookie in two rows (an operator's edit) counts by its last; load() skips the other.
    if (auto id = protocol::cookie::parse(text == nullptr ? "" : text))
      rows_[*id] = sequence;
  }
  if (rc != SQLITE_DONE) {
    error = last_error();
    return false;
  }
  return true;
}

bool journal_store::load(std::vector<journal_entry>& out, std::string& error) {
  statement rows{
      db_, "SELECT cookie, detach, priority, retries, run, sequence FROM runs ORDER BY sequence"};
  if (rows.prepared() != SQLITE_OK) {
    error = last_error();
    return false;
  }
  int rc;
  while ((rc = rows.step()) == SQLITE_ROW) {
    auto* stmt = rows.get();
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    auto id = protocol::cookie::parse(text == nullptr ? "" : text);
    auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt, 4));
    auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, 4));
    // A row an operator edited into something else is skipped, not trusted.
    if (!id || bytes == nullptr || size == 0)
      continue;
    if (auto row = rows_.find(*id);
        row == rows_.end() || row->second != sqlite3_column_int64(stmt, 5))
      continue;
    journal_entry e;
    e.id = *id;
    e.detach = sqlite3_column_int(stmt, 1) != 0;
    e.priority = sqlite3_column_int64(stmt, 2);
    e.retries = static_cast<std::int32_t>(sqlite3_column_int64(stmt, 3));
    e.run = protocol::frame{std::string_view{bytes, size}};
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) {
    error = last_error();
    return false;
  }
  return true;
}

bool journal_store::apply(const std::vector<journal_entry>& entries, std::string& error) {
  auto step = [&](sqlite3_stmt* stmt) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
      error = last_error();
    return rc == SQLITE_DONE;
  };
  if (!step(begin_))
    return false;
  // What the batch changed in rows_, to put back if it is rolled back (0: the cookie was absent).
  std::vector<std::pair<protocol::cookie, std::int64_t>> undo;
  auto sequence = next_sequence_;
  auto now = unix_ms_now();
  char text[protocol::cookie::text_size];
  bool ok = true;
  for (auto& e : entries) {
    auto row = rows_.find(e.id);
    if (row != rows_.end()) {
      // Removed, or added again: either way its old row goes (a re-added cookie goes last).
      sqlite3_bind_int64(remove_, 1, row->second);
      if (!(ok = step(remove_)))
        break;
      undo.emplace_back(e.id, row->second);
      rows_.erase(row);
    }
    if (!e.adds())
      continue;
    e.id.write(text);
    auto payload = e.run.payload();
    sqlite3_bind_int64(insert_, 1, sequence);
    sqlite3_bind_text(insert_, 2, text, sizeof text, SQLITE_STATIC);
    sqlite3_bind_int(insert_, 3, e.detach ? 1 : 0);
    sqlite3_bind_int64(insert_, 4, e.priority);
    sqlite3_bind_int64(insert_, 5, e.retries);
    sqlite3_bind_int64(insert_, 6, now);
    sqlite3_bind_blob(insert_, 7, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    if (!(ok = step(insert_)))
      break;
    undo.emplace_back(e.id, 0);
    rows_[e.id] = sequence++;
  }
  if (ok)
    ok = step(commit_);
  if (ok) {
    next_sequence_ = sequence;
    return true;
  }
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
    if (it->second == 0)
      rows_.erase(it->first);
    else
      rows_[it->first] = it->second;
  }
  return false;
}

bool journal_store::checkpoint(std::string& error) {
  int frames = 0;
  int copied = 0;
  if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) !=
      SQLITE_OK) {
    error = last_error();
    return false;
  }
  return true;
}

} // namespace rcbroker::journal

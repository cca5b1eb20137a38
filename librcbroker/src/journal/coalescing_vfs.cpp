#include "rcbroker/journal/coalescing_vfs.hpp"

#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <sqlite3.h>
#include <string>

namespace rcbroker::journal {

namespace {

/// SQLite's WAL frame header is 24 bytes; bytes 4..7 (big-endian) are the database size after a
/// commit, and 0 in the frames before it.
constexpr int frame_header_size = 24;

/// The buffer stops growing here: a transaction larger than this is written in pieces.
constexpr std::size_t max_buffered = 1 << 20;

sqlite3_vfs* base_vfs = nullptr;
sqlite3_vfs coalescing{};
sqlite3_io_methods passthrough_methods{};
sqlite3_io_methods wal_methods{};

/// One open file: the base VFS's file follows this header in the same allocation.
struct shim_file {
  sqlite3_file header;  ///< pMethods: ours
  sqlite3_file* base;   ///< the base VFS's file
  bool wal = false;     ///< a write-ahead log: its writes are gathered
  std::string* pending; ///< bytes not written yet (WAL only)
  sqlite3_int64 offset; ///< where `pending` goes in the file
  bool commit_next;     ///< the last write was a commit frame's header: its page completes it
};

shim_file* shim(sqlite3_file* f) {
  return reinterpret_cast<shim_file*>(f);
}

/// Writes what is gathered; SQLITE_OK or the base VFS's error (SQLITE_FULL, an I/O error).
int flush(shim_file* f) {
  if (!f->wal || f->pending->empty())
    return SQLITE_OK;
  int rc = f->base->pMethods->xWrite(f->base, f->pending->data(),
                                     static_cast<int>(f->pending->size()), f->offset);
  f->pending->clear();
  return rc;
}

int x_close(sqlite3_file* file) {
  auto* f = shim(file);
  int flushed = flush(f);
  int rc = f->base->pMethods ? f->base->pMethods->xClose(f->base) : SQLITE_OK;
  delete f->pending;
  f->pending = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  auto* f = shim(file);
  if (int rc = flush(f); rc != SQLITE_OK)
    return rc;
  return f->base->pMethods->xRead(f->base, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  auto* f = shim(file);
  if (!f->wal)
    return f->base->pMethods->xWrite(f->base, data, amount, offset);
  auto end = f->offset + static_cast<sqlite3_int64>(f->pending->size());
  if (!f->pending->empty() && (offset != end || f->pending->size() >= max_buffered))
    if (int rc = flush(f); rc != SQLITE_OK)
      return rc;
  if (f->pending->empty())
    f->offset = offset;
  f->pending->append(static_cast<const char*>(data), static_cast<std::size_t>(amount));
  if (f->commit_next) {
    // The commit frame's page: the transaction is complete, and a failure belongs to it.
    f->commit_next = false;
    return flush(f);
  }
  if (amount == frame_header_size) {
    auto* bytes = static_cast<const unsigned char*>(data);
    f->commit_next = (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
  }
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  auto* f = shim(file);
  if (int rc = flush(f); rc != SQLITE_OK)
    return rc;
  return f->base->pMethods->xTruncate(f->base, size);
}

int x_sync(sqlite3_file* file, int flags) {
  auto* f = shim(file);
  if (int rc = flush(f); rc != SQLITE_OK)
    return rc;
  return f->base->pMethods->xSync(f->base, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  auto* f = shim(file);
  if (int rc = flush(f); rc != SQLITE_OK)
    return rc;
  return f->base->pMethods->xFileSize(f->base, size);
}

int x_lock(sqlite3_file* file, int level) {
  auto* f = shim(file);
  return f->base->pMethods->xLock(f->base, level);
}

int x_unlock(sqlite3_file* file, int level) {
  auto* f = shim(file);
  return f->base->pMethods->xUnlock(f->base, level);
}

int x_check_reserved_lock(sqlite3_file* file, int* out) {
  auto* f = shim(file);
  return f->base->pMethods->xCheckReservedLock(f->base, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  auto* f = shim(file);
  if (int rc = flush(f); rc != SQLITE_OK)
    return rc;
  return f->base->pMethods->xFileControl(f->base, op, arg);
}

int x_sector_size(sqlite3_file* file) {
  auto* f = shim(file);
  return f->base->pMethods->xSectorSize(f->base);
}

int x_device_characteristics(sqlite3_file* file) {
  auto* f = shim(file);
  return f->base->pMethods->xDeviceCharacteristics(f->base);
}

int x_shm_map(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  auto* f = shim(file);
  return f->base->pMethods->xShmMap(f->base, page, size, extend, out);
}

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  auto* f = shim(file);
  return f->base->pMethods->xShmLock(f->base, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* file) {
  auto* f = shim(file);
  f->base->pMethods->xShmBarrier(f->base);
}

int x_shm_unmap(sqlite3_file* file, int remove) {
  auto* f = shim(file);
  return f->base->pMethods->xShmUnmap(f->base, remove);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  auto* f = shim(file);
  if (int rc = flush(f); rc != SQLITE_OK)
    return rc;
  return f->base->pMethods->xFetch(f->base, offset, amount, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  auto* f = shim(file);
  return f->base->pMethods->xUnfetch(f->base, offset, page);
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = shim(file);
  f->base = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(shim_file));
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->pending = nullptr;
  f->offset = 0;
  f->commit_next = false;
  f->header.pMethods = nullptr;
  f->base->pMethods = nullptr;
  int rc = base_vfs->xOpen(base_vfs, name, f->base, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite closes only a file whose methods are set, and ours are not: close the base here.
    if (f->base->pMethods != nullptr)
      f->base->pMethods->xClose(f->base);
    return rc;
  }
  // Methods of a version the base file has: SQLite calls xShm* and xFetch only where they exist.
  auto* methods = f->wal ? &wal_methods : &passthrough_methods;
  f->pending = new (std::nothrow) std::string;
  if (f->pending == nullptr) {
    f->base->pMethods->xClose(f->base);
    return SQLITE_NOMEM;
  }
  if (f->wal)
    f->pending->reserve(64 * 1024);
  f->header.pMethods = methods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return base_vfs->xDelete(base_vfs, name, sync_dir);
}

int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs->xAccess(base_vfs, name, flags, out);
}

int x_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return base_vfs->xFullPathname(base_vfs, name, size, out);
}

int x_randomness(sqlite3_vfs*, int size, char* out) {
  return base_vfs->xRandomness(base_vfs, size, out);
}

int x_sleep(sqlite3_vfs*, int microseconds) {
  return base_vfs->xSleep(base_vfs, microseconds);
}

int x_current_time(sqlite3_vfs*, double* out) {
  return base_vfs->xCurrentTime(base_vfs, out);
}

int x_get_last_error(sqlite3_vfs*, int size, char* out) {
  return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, size, out) : 0;
}

int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

sqlite3_io_methods methods_of(bool wal) {
  sqlite3_io_methods m{};
  m.iVersion = 3;
  m.xClose = x_close;
  m.xRead = x_read;
  m.xWrite = x_write;
  m.xTruncate = x_truncate;
  m.xSync = x_sync;
  m.xFileSize = x_file_size;
  m.xLock = x_lock;
  m.xUnlock = x_unlock;
  m.xCheckReservedLock = x_check_reserved_lock;
  m.xFileControl = x_file_control;
  m.xSectorSize = x_sector_size;
  m.xDeviceCharacteristics = x_device_characteristics;
  m.xShmMap = x_shm_map;
  m.xShmLock = x_shm_lock;
  m.xShmBarrier = x_shm_barrier;
  m.xShmUnmap = x_shm_unmap;
  // A log is read through xRead only: no memory-mapped pages of it to keep coherent.
  m.xFetch = wal ? nullptr : x_fetch;
  m.xUnfetch = wal ? nullptr : x_unfetch;
  if (wal)
    m.iVersion = 2;
  return m;
}

} // namespace

const char* coalescing_vfs_name() {
  static std::once_flag once;
  std::call_once(once, [] {
    base_vfs = sqlite3_vfs_find(nullptr);
    passthrough_methods = methods_of(false);
    wal_methods = methods_of(true);
    coalescing.iVersion = 2;
    coalescing.szOsFile = static_cast<int>(sizeof(shim_file)) + base_vfs->szOsFile;
    coalescing.mxPathname = base_vfs->mxPathname;
    coalescing.zName = "rcbroker-coalescing";
    coalescing.xOpen = x_open;
    coalescing.xDelete = x_delete;
    coalescing.xAccess = x_access;
    coalescing.xFullPathname = x_full_pathname;
    coalescing.xDlOpen = nullptr;
    coalescing.xDlError = nullptr;
    coalescing.xDlSym = nullptr;
    coalescing.xDlClose = nullptr;
    coalescing.xRandomness = x_randomness;
    coalescing.xSleep = x_sleep;
    coalescing.xCurrentTime = x_current_time;
    coalescing.xGetLastError = x_get_last_error;
    coalescing.xCurrentTimeInt64 = x_current_time_int64;
    sqlite3_vfs_register(&coalescing, 0);
  });
  return coalescing.zName;
}

} // namespace rcbroker::journal

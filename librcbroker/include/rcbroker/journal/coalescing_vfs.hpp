#pragma once

namespace rcbroker::journal {

/// The name of an SQLite VFS that is the system's default one except for write-ahead logs: the
/// frames of a transaction, which SQLite writes as two pwrite calls each (a 24-byte header, then
/// the page), are gathered and written with one call when the commit frame is complete (or
/// before anything else touches the log: a read, a sync, a truncate, a write elsewhere). A failed
/// write is returned to SQLite at the commit frame, so a full disk fails the transaction as
/// before. Registered on the first call; the journal opens its database with it.
const char* coalescing_vfs_name();

} // namespace rcbroker::journal

#pragma once

#include <cstddef>
#include <memory>

namespace rcbroker::transport {

class stream;

/// Writes what `stream::send` queued on this thread since the last flush: one gather write per
/// stream. The thread's driver (runtime::io_scheduler, at the end of each drain of its actors)
/// calls it; a thread that never called `drive_pending_writes` flushes each stream in a handler
/// of its own instead.
void flush_pending_writes();

/// How many streams have frames waiting for this thread's next flush.
std::size_t pending_write_streams() noexcept;

/// Tells `stream::send` that this thread calls `flush_pending_writes` itself (or, with false,
/// that it no longer does).
void drive_pending_writes(bool on) noexcept;

namespace detail {

/// Registers `s` for the next flush of this thread (stream::send does this once per batch).
void defer_flush(std::shared_ptr<stream> s);

} // namespace detail

} // namespace rcbroker::transport

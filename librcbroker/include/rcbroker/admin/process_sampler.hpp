#pragma once

#include "rcbroker/actors/snapshot.hpp"

#include <string_view>

namespace rcbroker::admin {

/// Reads this process's CPU time, memory, descriptors and threads from /proc (Linux); fields it
/// cannot read stay zero.
actors::process_sample sample_this_process();

/// The sample in `stat` (the text of /proc/PID/stat), with `ticks_per_second`, `page_bytes` and
/// `boot_unix_seconds` (the btime of /proc/stat) to convert; descriptors are left as they are.
/// Pure, for tests.
actors::process_sample parse_proc_stat(std::string_view stat, long ticks_per_second,
                                       long page_bytes, double boot_unix_seconds);

} // namespace rcbroker::admin

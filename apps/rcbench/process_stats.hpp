#pragma once

#include <cstdint>
#include <optional>

namespace rcbench {

/// CPU seconds (user + system, all threads) of process `pid` from /proc/PID/stat; nullopt when
/// the process cannot be read.
std::optional<double> process_cpu_seconds(int pid);

/// Resident set size (VmRSS) of process `pid` in KiB from /proc/PID/status; nullopt when the
/// process cannot be read.
std::optional<std::uint64_t> process_rss_kib(int pid);

/// CPU seconds (user + system) rcbench itself has used so far.
double own_cpu_seconds();

} // namespace rcbench

#pragma once

#include "options.hpp"
#include "run_state.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace rcbench {

/// The figures of one load run.
struct load_summary {
  std::string mode;                              ///< "node" or "direct"
  std::string endpoint;                          ///< where the clients connected
  double seconds = 0;                            ///< length of the measured window
  std::uint64_t tasks = 0;                       ///< RESULTs with rc OK in the window
  std::array<std::uint64_t, rc_slots> results{}; ///< RESULTs in the window, by rc
  std::uint64_t errors = 0;                      ///< failed connections, lost RUNs, stray packets
  double p50_us = 0;                             ///< RUN->RESULT latency of rc OK, median
  double p90_us = 0;                             ///< 90th percentile
  double p99_us = 0;                             ///< 99th percentile
  double max_us = 0;                             ///< largest
  std::optional<double> broker_cpu_s;            ///< node CPU over the window
  std::optional<std::uint64_t> broker_rss_kib;   ///< node RSS at the end of the window
  double bench_cpu_s = 0;                        ///< rcbench's own CPU over the window

  /// Tasks (rc OK) per second of the window.
  double tasks_per_s() const { return seconds > 0 ? static_cast<double>(tasks) / seconds : 0; }
};

/// The figures of one idle (memory) run.
struct idle_summary {
  unsigned clients = 0;             ///< idle client connections opened
  unsigned workers = 0;             ///< idle workers opened
  std::uint64_t rss_before_kib = 0; ///< node RSS before any was opened
  std::uint64_t rss_after_kib = 0;  ///< with every connection open and settled
  std::uint64_t rss_end_kib = 0;    ///< at the end of the hold
  double hold_s = 0;                ///< seconds held
  double broker_cpu_s = 0;          ///< node CPU over the hold

  /// Node RSS added per connection, in bytes.
  double bytes_per_connection() const;
};

/// The summary for a person, several lines.
std::string to_text(const options& o, const load_summary& s);

/// The summary as one JSON line.
std::string to_json(const options& o, const load_summary& s);

/// The idle summary for a person.
std::string to_text(const idle_summary& s);

/// The idle summary as one JSON line.
std::string to_json(const idle_summary& s);

} // namespace rcbench

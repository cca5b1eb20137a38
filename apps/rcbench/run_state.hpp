#pragma once

#include "latency_histogram.hpp"

#include <array>
#include <atomic>
#include <cstdint>

namespace rcbench {

/// Phases of a load run, in order.
enum class phase : int {
  warmup,  ///< RUNs flow, nothing is measured
  measure, ///< RUNs flow and results are counted
  drain,   ///< no new RUNs; the ones in flight are awaited
};

/// What the main thread tells every connection; read by the I/O threads on each result.
struct run_control {
  std::atomic<phase> current{phase::warmup}; ///< the phase now
  bool capped = false;                       ///< whether --max-tasks is set
  std::atomic<std::int64_t> budget{0};       ///< RUNs still allowed in the measured window (capped)
  std::atomic<unsigned> live_clients{0};     ///< client connections that have not failed
};

/// A counter with one writer thread and any number of readers: a plain add, visible to readers.
class counter {
public:
  /// Adds `n` (negative to count down); only the owning thread calls this.
  void add(std::int64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  /// The value now, from any thread.
  std::int64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::int64_t> value_{0};
};

/// Number of RESULT codes counted: the ten of the protocol and one for anything else.
inline constexpr std::size_t rc_slots = 11;

/// The counters of the connections of one I/O thread (that thread is their only writer).
struct thread_stats {
  counter ok;        ///< RESULTs with rc OK, every phase (for the progress line)
  counter in_flight; ///< RUNs sent and not yet answered
  counter errors;    ///< connection failures, RUNs lost with them, unexpected packets
  std::array<counter, rc_slots> measured_rc; ///< RESULTs in the measured window, by rc
  latency_histogram measured_latency; ///< RUN->RESULT of rc OK in the window (read after join)
};

} // namespace rcbench

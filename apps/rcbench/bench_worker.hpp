#pragma once

#include "framed_connection.hpp"
#include "run_state.hpp"
#include "wire.hpp"

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

namespace rcbench {

/// One worker connection: answers every RUN with a copy of one RESULT (rc OK, as large as the
/// RUN) carrying the RUN's cookie, at once or after a fixed delay. Connected to a node it first
/// REGISTERs its capacity; accepted from a client (direct mode) it answers straight away.
class bench_worker final : public framed_connection {
public:
  /// `register_capacity` 0 sends no REGISTER (direct mode).
  /// Called (on the worker's thread) for each detached RUN it gets, with its cookie.
  using detached_sink = std::function<void(const rcbroker::protocol::cookie&)>;

  bench_worker(bench_socket socket, unsigned register_capacity, const frame_template& result,
               std::chrono::milliseconds delay, thread_stats& stats,
               detached_sink on_detached = {});

  /// Sends REGISTER if asked for and starts reading (on the io_context's thread).
  void start();

  /// RUNs received so far (read from any thread).
  std::uint64_t runs_received() const noexcept { return runs_.load(std::memory_order_relaxed); }

private:
  struct delayed {
    std::chrono::steady_clock::time_point due;
    std::size_t bytes; // of its RESULT frame at the front of delayed_bytes_
  };

  void on_frame(std::string_view payload, std::size_t padded_size) override;
  void on_closed(const std::string& reason) override;
  void arm_timer();
  void release_due();

  unsigned register_capacity_;
  const frame_template& result_;
  std::chrono::milliseconds delay_;
  detached_sink on_detached_;
  thread_stats& stats_;
  std::atomic<std::uint64_t> runs_{0};
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::string delayed_bytes_;     // RESULT frames waiting for their time, oldest first
  std::deque<delayed> delayed_;   // one entry per frame in delayed_bytes_
  std::size_t delayed_begin_ = 0; // bytes of delayed_bytes_ already released
};

} // namespace rcbench

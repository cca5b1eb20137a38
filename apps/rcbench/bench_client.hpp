#pragma once

#include "framed_connection.hpp"
#include "run_state.hpp"
#include "wire.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

namespace rcbench {

/// A client connection that keeps `depth` RUNs in flight: each RESULT (whatever its rc) frees its
/// slot, and the slot sends the next RUN at once unless the run is draining or out of budget.
class bench_client final : public framed_connection {
public:
  /// The clock of send times and latencies.
  using clock = std::chrono::steady_clock;

  /// `index` goes into the cookies; `stats` belong to the io_context that runs this client.
  bench_client(bench_socket socket, std::uint16_t index, unsigned depth, const frame_template& run,
               const cookie_format& cookies, run_control& control, thread_stats& stats);

  /// Sends the first `depth` RUNs and starts reading (on the io_context's thread).
  void start();

  /// A detached RUN of this client (`slot`, `seq`) reached a worker at `at`: done, as a RESULT
  /// with rc OK would be (on the io_context's thread).
  void reached_worker(std::uint16_t slot, std::uint64_t seq, clock::time_point at);

private:
  struct slot {
    std::uint64_t seq = 0;
    clock::time_point sent;
    bool busy = false;
  };

  bool may_send() noexcept;
  void complete(std::uint16_t slot, std::size_t rc, bool ok, clock::time_point at);
  void send(std::uint16_t slot, clock::time_point now);
  void on_read() override;
  void on_frame(std::string_view payload, std::size_t padded_size) override;
  void on_closed(const std::string& reason) override;

  std::uint16_t index_;
  const frame_template& run_;
  const cookie_format& cookies_;
  run_control& control_;
  thread_stats& stats_;
  std::vector<slot> slots_;
  std::uint64_t next_seq_ = 0;
  clock::time_point now_; // when the read being handled completed
};

} // namespace rcbench

#pragma once

#include "bench_worker.hpp"
#include "net.hpp"
#include "rcbroker/transport/endpoint.hpp"
#include "run_state.hpp"

#include <chrono>
#include <memory>
#include <vector>

namespace rcbench {

/// One of rcbench's own workers in direct mode: listens on 127.0.0.1 (an ephemeral port) or a
/// Unix socket and answers each of the `expected` client connections it accepts; then it stops
/// accepting.
class direct_listener {
public:
  /// Binds now; `where` gives the transport (and the path for a Unix socket) and receives the
  /// bound port. Throws std::runtime_error when it cannot bind.
  direct_listener(boost::asio::io_context& ioc, rcbroker::transport::endpoint& where,
                  unsigned expected, const frame_template& result, std::chrono::milliseconds delay,
                  thread_stats& stats);

  /// Starts accepting (call before the io_context runs, or on its thread).
  void start();

private:
  void accept_next();

  acceptor_type acceptor_;
  bool tcp_;
  unsigned expected_;
  const frame_template& result_;
  std::chrono::milliseconds delay_;
  thread_stats& stats_;
  std::vector<std::unique_ptr<bench_worker>> sessions_;
};

} // namespace rcbench

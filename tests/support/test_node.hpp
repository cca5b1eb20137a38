#pragma once

// An in-process broker node for socket-level tests: TCP endpoints on 127.0.0.1 with ports the
// kernel picks, and Unix sockets in a fresh temporary folder.

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/node/node.hpp"

#include <caf/actor_system_config.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace rcbroker::test_support {

/// A node started for one test; stopped in order when destroyed.
class test_node {
public:
  /// Starts a node; `adjust` may change the settings before it starts.
  explicit test_node(const std::function<void(node::settings&)>& adjust = nullptr);
  ~test_node();

  std::string client_tcp;  ///< tcp://127.0.0.1:PORT for clients
  std::string client_unix; ///< socket:///PATH for clients
  std::string worker_tcp;  ///< tcp://127.0.0.1:PORT for workers
  std::string worker_unix; ///< socket:///PATH for workers

  /// The Switchboard's status now.
  actors::switchboard_status status();

  /// The Broker's detailed snapshot now (connections, refusals, and the Switchboard's part).
  actors::node_snapshot metrics();

  /// Waits until `pred(status())` holds (true) or 5 s pass (false).
  template <class Predicate>
  bool wait_for(Predicate pred);

  /// Shuts the node down now (also done by the destructor).
  void shutdown();

  node::node& get() { return *node_; }

private:
  std::string dir_;
  caf::actor_system_config cfg_;
  std::unique_ptr<node::node> node_;
};

/// A folder for Unix sockets, removed by the caller.
std::string make_temp_dir();

/// A fresh temporary folder, removed with everything in it at the end of the scope.
struct temp_dir {
  std::string path = make_temp_dir();
  ~temp_dir();
};

/// Whether the tests run under AddressSanitizer, whose quarantine keeps freed memory: an RSS
/// figure then says nothing about what the node gives back.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif

/// The resident set size of process `pid` in KiB, from /proc (0 when it cannot be read).
std::uint64_t rss_kib(int pid);

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick, released again).
std::uint16_t free_tcp_port();

template <class Predicate>
bool test_node::wait_for(Predicate pred) {
  for (int i = 0; i < 500; ++i) {
    auto s = status();
    if (pred(s))
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

} // namespace rcbroker::test_support

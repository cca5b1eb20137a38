#pragma once

// A CAF actor system on the deterministic test coordinator: nothing runs until the test says so,
// and time only moves when the test moves it.

#include "rcbroker/protocol/cookie.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/timespan.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rcbroker::testing {

/// An actor system whose scheduler is `caf::scheduler::test_coordinator`: every message and every
/// timeout runs on the calling thread, in order, when `run` or `advance_time` is called.
class deterministic_system {
public:
  /// Makes the system with the `testing` scheduler policy.
  deterministic_system();

  /// Kills every actor handed to `stop_at_end` (the system waits for all actors at its end),
  /// runs what that leaves to do, then destroys the system.
  ~deterministic_system();

  deterministic_system(const deterministic_system&) = delete;
  deterministic_system& operator=(const deterministic_system&) = delete;

  /// The actor system (spawn actors with it).
  caf::actor_system& system() noexcept { return system_; }

  /// The test coordinator, for stepping one message at a time (`run_once`).
  caf::scheduler::test_coordinator& scheduler() noexcept { return scheduler_; }

  /// Runs every pending message, and those they cause, until nothing is left; returns how many.
  std::size_t run();

  /// Moves the virtual clock `d` forward, fires the timeouts that fall due (delayed messages,
  /// request timeouts), then runs until nothing is left; returns how many timeouts fired.
  std::size_t advance_time(caf::timespan d);

  /// The virtual clock's current time.
  caf::actor_clock::time_point now() noexcept;

  /// A fresh cookie: 1, 2, 3, ... in its last eight bytes (the same in every run of a test).
  protocol::cookie next_cookie() noexcept;

  /// Has `a` killed when the system ends (for actors that would otherwise keep it waiting).
  void stop_at_end(caf::actor a);

private:
  caf::actor_system_config config_;
  caf::actor_system system_;
  caf::scheduler::test_coordinator& scheduler_;
  std::vector<caf::actor> to_stop_;
  std::uint64_t cookies_made_ = 0;
};

} // namespace rcbroker::testing

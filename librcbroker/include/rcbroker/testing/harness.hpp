#pragma once

// The actor test harness: the real Switchboard on CAF's deterministic test coordinator, with
// scripted clients and workers, virtual time and the Switchboard's snapshot. No sockets, no
// sleeps: every step runs message by message on the calling thread. Assertions are the
// caller's: the harness returns values.

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/actors/switchboard.hpp"
#include "rcbroker/testing/deterministic_system.hpp"
#include "rcbroker/testing/recorded_peer.hpp"
#include "rcbroker/testing/scripted_client.hpp"
#include "rcbroker/testing/scripted_worker.hpp"
#include "rcbroker/testing/worker_script.hpp"

#include <caf/timespan.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace rcbroker::testing {

/// A Switchboard under test and the peers around it.
class harness {
public:
  /// Starts a Switchboard with `config` on a deterministic system of its own.
  explicit harness(const actors::switchboard_config& config = {});

  /// Starts a Switchboard with `config` on `sys`, which must outlive the harness.
  harness(deterministic_system& sys, const actors::switchboard_config& config = {});

  harness(const harness&) = delete;
  harness& operator=(const harness&) = delete;

  /// The deterministic system everything runs on.
  deterministic_system& system() noexcept { return *sys_; }

  /// The Switchboard under test.
  const actors::switchboard_actor& switchboard() const noexcept { return switchboard_; }

  /// A new client, joined.
  scripted_client client();

  /// A new worker with `slots` slots, joined and registered, doing what `script` says.
  scripted_worker worker(std::uint32_t slots, worker_script script = echo());

  /// A new peer that records its frames, joined in `role` (for roles without a scripted peer).
  recorded_peer join(actors::peer_role role);

  /// Runs every pending message; returns how many ran.
  std::size_t run() { return sys_->run(); }

  /// Moves virtual time `d` forward (e.g. past `cancel_grace` or a task's deadline), fires the
  /// timeouts due and runs what they cause; returns how many timeouts fired.
  std::size_t advance_time(caf::timespan d) { return sys_->advance_time(d); }

  /// The Switchboard's status, or nullopt when it does not answer (it has stopped).
  std::optional<actors::switchboard_status> status();

  /// The Switchboard's detailed snapshot (counters, traffic, every peer's load), or nullopt
  /// when it does not answer.
  std::optional<actors::switchboard_snapshot> snapshot();

  /// Asks the Switchboard for its orderly stop; calls `on_reply` when `done` arrives (at that
  /// point every frame the Switchboard sent before has been delivered). Returns whether it came.
  bool shutdown(const std::function<void()>& on_reply = {});

private:
  void start(const actors::switchboard_config& config);

  std::unique_ptr<deterministic_system> owned_;
  deterministic_system* sys_;
  actors::switchboard_actor switchboard_;
};

} // namespace rcbroker::testing

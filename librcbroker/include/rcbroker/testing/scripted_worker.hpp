#pragma once

// A worker actor that follows a script: it joins the Switchboard, registers its slots and does
// what the script says with each RUN, keeping what it was sent.

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/testing/packets.hpp"
#include "rcbroker/testing/worker_script.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace rcbroker::testing {

class deterministic_system;

/// What a scripted worker was sent, as it read it.
struct worker_log {
  std::vector<worker_task> runs; ///< every RUN, in order
  std::vector<cookie> cancels;   ///< the cookie of every CANCEL, in order
  bool shutdown = false;         ///< whether a SHUTDOWN came
  bool alive = true;             ///< false once the actor has exited (for whatever reason)
};

/// A handle on a scripted worker actor. Each action sends its messages, then runs the
/// system until nothing is left to do.
class scripted_worker {
public:
  /// Spawns the worker on `sys`: it joins `sb` as a worker and registers `slots` (none when 0).
  scripted_worker(deterministic_system& sys, actors::switchboard_actor sb, std::uint32_t slots,
                  worker_script script);

  /// The actor, as the Switchboard sees it.
  const actors::peer_actor& handle() const noexcept { return handle_; }

  /// The RUNs it got, in order.
  const std::vector<worker_task>& runs() const noexcept { return log_->runs; }

  /// The cookies of the CANCELs it got, in order.
  const std::vector<cookie>& cancels() const noexcept { return log_->cancels; }

  /// Whether it got a SHUTDOWN (it exits then, as a real worker does).
  bool got_shutdown() const noexcept { return log_->shutdown; }

  /// Whether the actor still runs.
  bool alive() const noexcept { return log_->alive; }

  /// Registers `slots` more.
  void register_slots(std::uint32_t slots);

  /// Sends, now, the RESULT that `step` describes for task `c` (e.g. for a task it hangs on);
  /// the step's kind and delay are ignored.
  void respond(const cookie& c, const worker_step& step);

  /// Kills the actor now (as a worker whose connection drops).
  void die();

private:
  deterministic_system* sys_;
  actors::switchboard_actor sb_;
  std::shared_ptr<worker_log> log_;
  actors::peer_actor handle_;
};

} // namespace rcbroker::testing

#pragma once

#include "rcbroker/actors/messages.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace rcbroker::actors {

/// The most retries on worker loss a RUN (or the node's default) may ask for.
inline constexpr std::uint32_t max_retries_on_worker_loss = 1000;

/// How the Switchboard routes; the `[broker]` settings that concern routing.
struct switchboard_config {
  /// How long a cancelled task may take before the broker answers its client itself.
  caf::timespan cancel_grace = std::chrono::seconds{5};
  /// With N > 0, up to N RUNs wait for a slot (fair across clients) instead of NO_CAPACITY.
  std::size_t queue_limit = 0;
  /// Whether the tasks of a client that went away are cancelled at their workers.
  bool cancel_orphans = false;
  /// With N > 0, a client (not a link worker) with N open routes gets NO_CAPACITY for another
  /// RUN: every route counts until it ends (queued, running, detached, answered by the grace).
  std::size_t max_runs_per_client = 0;
  /// With N > 0, the socket clients of one host (IP address; all Unix-socket clients count as
  /// one) together get NO_CAPACITY for a RUN once they have N open routes.
  std::size_t max_runs_per_address = 0;
  /// With N > 0, a REGISTER that would give one worker connection more than N slots in all gets
  /// BAD_PACKET and adds none.
  std::uint64_t max_worker_capacity = 0;
  /// With a duration > 0, a task not answered within it is answered for its client with
  /// EXCEPTION; a RUN's own `timeout` field may only shorten it.
  caf::timespan max_task_duration{0};
  /// How often a task whose worker went away runs again, for a RUN without `retries`.
  std::uint32_t retries_on_worker_loss = 0;
  /// With a journal (`journal`), detached RUNs and RUNs that wait in the queue are written there
  /// (docs/RELIABILITY.md); a detached RUN waits for a slot (queue-limit or not) and runs only
  /// once written. Null: no journal.
  journal_actor journal;
  /// The most runs the journal holds; a RUN that would make more gets NO_CAPACITY (0: no bound).
  std::uint64_t journal_max_runs = 0;
};

/// Spawns the Switchboard: the one actor that holds routes and worker slots. See
/// docs/ROUTING.md for its invariants.
switchboard_actor spawn_switchboard(caf::actor_system& sys, const switchboard_config& cfg);

} // namespace rcbroker::actors

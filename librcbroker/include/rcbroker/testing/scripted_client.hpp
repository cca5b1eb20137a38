#pragma once

// A client actor driven by the test: it sends RUN and CANCEL as a socket connection passes them
// on, and keeps every frame the Switchboard delivers to it, readable as RESULTs.

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/testing/packets.hpp"
#include "rcbroker/testing/recorded_peer.hpp"

#include <caf/timespan.hpp>
#include <optional>
#include <string>
#include <vector>

namespace rcbroker::testing {

class deterministic_system;

/// The fields of one RUN.
struct run_options {
  std::string pipeline = "echo"; ///< what to run
  std::string variables = "{}";  ///< JSON text, carried opaquely
  bool detach = false;           ///< no RESULT wanted
  caf::timespan timeout{0};      ///< the RUN's `timeout` (deadline) field; 0: none
};

/// A handle on a scripted client actor. Each action sends its message, then runs the system
/// until nothing is left to do.
class scripted_client {
public:
  /// Spawns the client on `sys` and joins it to `sb` as a client.
  scripted_client(deterministic_system& sys, actors::switchboard_actor sb);

  /// The actor, as the Switchboard sees it.
  const actors::peer_actor& handle() const noexcept { return peer_.handle; }

  /// Sends a RUN with a fresh cookie (`deterministic_system::next_cookie`) and returns it.
  cookie run(const run_options& options = {});

  /// Sends a RUN with cookie `c` (e.g. one already in use).
  void run(const cookie& c, const run_options& options);

  /// Sends a CANCEL for `c`.
  void cancel(const cookie& c);

  /// Kills the actor now (as a client whose connection drops).
  void disconnect();

  /// Every frame delivered so far, in order.
  const std::vector<frame>& frames() const noexcept { return *peer_.inbox; }

  /// The frames delivered so far that read as RESULTs, in order.
  std::vector<received_result> results() const;

  /// The first RESULT delivered for `c`, if any.
  std::optional<received_result> result_for(const cookie& c) const;

private:
  deterministic_system* sys_;
  actors::switchboard_actor sb_;
  recorded_peer peer_;
};

} // namespace rcbroker::testing

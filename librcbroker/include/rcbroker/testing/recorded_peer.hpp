#pragma once

// A stand-in for a connection actor: a peer of the Switchboard that records what it is sent.

#include "rcbroker/actors/messages.hpp"

#include <cstddef>
#include <memory>
#include <vector>

namespace rcbroker::testing {

class deterministic_system;

/// A peer actor that keeps every frame delivered to it. It joins nothing by itself: send
/// `join` (and what else) as it with `caf::send_as(peer.handle, switchboard, ...)`.
struct recorded_peer {
  /// The actor, as the Switchboard sees it.
  actors::peer_actor handle;
  /// The frames delivered so far, in order (a delivery may carry several).
  std::shared_ptr<std::vector<actors::frame>> inbox;
  /// How many deliver messages arrived (one may carry several frames).
  std::shared_ptr<std::size_t> deliveries = std::make_shared<std::size_t>(0);

  /// Returns the frames delivered so far and forgets them.
  std::vector<actors::frame> take();
};

/// Spawns a recorded peer on `sys` (killed when `sys` ends).
recorded_peer spawn_recorded_peer(deterministic_system& sys);

} // namespace rcbroker::testing

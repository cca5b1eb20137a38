#pragma once

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/transport/listener.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace rcbroker::actors {

/// What the Broker needs to supervise a node.
struct broker_config {
  /// Listeners for clients, already bound.
  std::vector<std::shared_ptr<transport::listener>> client_listeners;
  /// Listeners for workers, already bound.
  std::vector<std::shared_ptr<transport::listener>> worker_listeners;
  /// Period of the status line in the log (zero: none).
  caf::timespan status_interval = std::chrono::seconds{30};
  /// How long an orderly shutdown waits for connections to flush before it closes them.
  caf::timespan shutdown_timeout = std::chrono::seconds{5};
  /// Client connections open at once; a socket accepted over it is closed at once (0: no limit).
  std::size_t max_client_connections = 0;
  /// Worker connections open at once; a socket accepted over it is closed at once (0: no limit).
  std::size_t max_worker_connections = 0;
  /// What a worker's REGISTER must carry in its `token` field (empty: nothing).
  std::string worker_token;
  /// The cluster membership, whose members go into snapshots (null when not clustering).
  cluster_membership_actor membership;
};

/// Spawns the Broker: it starts the listeners, spawns a connection actor per accepted socket
/// (monitoring each; a socket over the connection limit of its kind is closed and counted), logs a
/// status line periodically, and on `shutdown_atom` stops accepting, lets the Switchboard tell
/// workers and clients, closes every connection after its last frame and replies `done_atom`.
broker_actor spawn_broker(caf::actor_system& sys, broker_config cfg, switchboard_actor sb);

} // namespace rcbroker::actors

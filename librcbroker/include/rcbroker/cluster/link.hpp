#pragma once

#include "rcbroker/actors/messages.hpp"

#include <caf/fwd.hpp>
#include <cstddef>
#include <string>

namespace rcbroker::cluster {

/// How a link half passes frames between two nodes.
struct link_config {
  /// Names the other node in logs.
  std::string peer_name;
  /// RESULT frames the Switchboard delivers at once cross in messages of at most this many
  /// payload bytes (a single larger frame crosses alone), so that no message exceeds what the
  /// other node accepts from a cluster connection.
  std::size_t max_batch_bytes = 1 << 20;
};

/// Spawns the outbound half of a link to another node: to the local Switchboard a `link_worker`
/// whose free slots are the other node's free local slots. It joins once `bind` gives it the
/// other node's inbound half; from then on RUN and CANCEL frames go there as they came and RESULT
/// frames come back as they came. It ends, and with it every route behind it (the local clients
/// get WORKER_WENT_AWAY), when either side goes down or the connection between the nodes is lost.
actors::cluster_outbound_actor
spawn_outbound_link(caf::actor_system& sys, actors::switchboard_actor local, link_config cfg);

/// Spawns the inbound half of a link from another node: to the local Switchboard a `link_client`
/// that submits the other node's RUNs and CANCELs (using local slots only). It joins once `bind`
/// gives it the other node's outbound half, to which it sends RESULT frames and this node's free
/// slot count. It ends when either side goes down; its open routes are then orphans.
actors::cluster_inbound_actor spawn_inbound_link(caf::actor_system& sys,
                                                 actors::switchboard_actor local, link_config cfg);

} // namespace rcbroker::cluster

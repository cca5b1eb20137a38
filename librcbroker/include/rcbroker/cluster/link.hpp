#pragma once

#include "rcbroker/actors/messages.hpp"

#include <caf/fwd.hpp>
#include <string>

namespace rcbroker::cluster {

/// Spawns the link that lets this node use another node's workers. To the local Switchboard it
/// is a `link_worker` whose free slots are the other node's free local slots; to the other
/// node's Switchboard it is a `link_client`. RUN and CANCEL frames go out as they came, RESULT
/// frames come back as they came. The link ends, and with it every route behind it (the local
/// clients get WORKER_WENT_AWAY), when either Switchboard goes down or the connection between the
/// nodes is lost. `peer_name` names the other node in logs.
actors::cluster_link_actor spawn_link(caf::actor_system& sys, actors::switchboard_actor local,
                                      actors::switchboard_actor remote, std::string peer_name);

} // namespace rcbroker::cluster

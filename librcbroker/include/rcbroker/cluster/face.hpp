#pragma once

#include "rcbroker/actors/messages.hpp"

#include <caf/fwd.hpp>
#include <cstddef>
#include <string>

namespace rcbroker::cluster {

/// The rules the cluster face applies to actors of other CAF nodes.
struct face_config {
  /// A remote actor worker must register with this token ("": none needed), as a wire worker's
  /// REGISTER must carry it.
  std::string worker_token;
  /// Remote actor clients and workers served at once; more are refused (0: no limit).
  std::size_t max_clients = 0;
  std::size_t max_workers = 0;
};

/// Spawns the actor this node publishes on its cluster port, in front of `sb`. Greetings and
/// gossip from other nodes go to the membership actor (given later with `bind`), answered by the
/// face itself, so that neither the membership actor nor the Switchboard is ever seen from
/// another node. An actor client or worker of another node gets a stand-in that joins `sb` in
/// its place; everything else a remote sender tries (another role, a REGISTER without the
/// token, a message before joining) is dropped and logged.
actors::cluster_face_actor spawn_face(caf::actor_system& sys, actors::switchboard_actor sb,
                                      face_config cfg);

} // namespace rcbroker::cluster

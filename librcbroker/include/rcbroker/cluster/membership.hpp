#pragma once

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/cluster/peer_address.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace rcbroker::cluster {

/// How a node keeps its cluster membership.
struct membership_config {
  /// This node's name (node-name) and the cluster address others may dial ("" when none: a node
  /// without a cluster port still links to the members it dials).
  std::string name;
  std::string address;
  /// Members named with --peer / cluster-peers: dialled at start and retried for ever.
  std::vector<peer_address> peers;
  /// Dial with CAF's OpenSSL module (its certificate settings are in the actor system's config).
  bool tls = false;
  /// Every connection attempt and greeting ends within this time.
  caf::timespan connect_timeout = std::chrono::seconds{5};
  /// Pause before the first retry of a member that is down; doubles up to `max_backoff`.
  caf::timespan min_backoff = std::chrono::milliseconds{250};
  caf::timespan max_backoff = std::chrono::seconds{5};
  /// A member learnt from gossip (not listed) that stays unreachable this long is forgotten.
  caf::timespan forget_after = std::chrono::minutes{5};
  /// Passed to the links (link_config::max_batch_bytes).
  std::size_t max_batch_bytes = 1 << 20;
  /// Members known at once, linked or not (0: no limit); more greetings are refused and more
  /// addresses from gossip ignored.
  std::size_t max_members = 256;
};

/// Spawns the actor that keeps this node's links to every member of the cluster
/// (docs/CLUSTER.md): it dials the listed peers and every address the members tell it of,
/// greets each member's face with this node's link halves (`face` is this node's own face, whose
/// handle goes into the greeting), answers other nodes' greetings, keeps exactly one link with
/// each member node (a node that greets while a greeting of ours is under way: the node with the
/// smaller id wins), tells the members the addresses it is linked to whenever that changes, and
/// retries a member that went away with backoff. Give it to the face with `bind`.
actors::cluster_membership_actor spawn_membership(caf::actor_system& sys,
                                                  actors::switchboard_actor local,
                                                  actors::cluster_face_actor face,
                                                  membership_config cfg);

} // namespace rcbroker::cluster

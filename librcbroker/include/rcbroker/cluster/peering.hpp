#pragma once

#include "rcbroker/actors/messages.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace rcbroker::cluster {

/// A peer node's cluster address.
struct peer_address {
  std::string host;
  std::uint16_t port = 0;

  /// "HOST:PORT" ("[V6]:PORT" for IPv6).
  std::string to_string() const;
};

/// Parses "HOST:PORT" or "[V6ADDR]:PORT"; sets `error` and returns false when it is not one.
bool parse_peer_address(const std::string& text, peer_address& out, std::string& error);

/// How a node keeps its links to its peers.
struct peering_config {
  std::vector<peer_address> peers;
  /// Every connection attempt and request to a peer ends within this time.
  caf::timespan connect_timeout = std::chrono::seconds{5};
  /// Pause before the first retry of a peer that is down; doubles up to `max_backoff`.
  caf::timespan min_backoff = std::chrono::milliseconds{250};
  caf::timespan max_backoff = std::chrono::seconds{5};
};

/// Spawns the actor that keeps one link (see link.hpp) to every listed peer: it connects through
/// CAF's middleman, checks that the peer speaks the Switchboard's interface, and after a failed
/// attempt or a lost link tries again with backoff, logging each join and loss.
caf::actor spawn_peering(caf::actor_system& sys, actors::switchboard_actor local,
                         peering_config cfg);

/// Makes `cfg` able to cluster: loads CAF's middleman and announces every type that crosses
/// nodes. Call before the actor system is made from `cfg`.
void enable_clustering(caf::actor_system_config& cfg);

} // namespace rcbroker::cluster

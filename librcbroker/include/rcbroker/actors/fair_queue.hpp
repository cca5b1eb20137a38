#pragma once

#include "rcbroker/actors/peer_id.hpp"
#include "rcbroker/protocol/cookie.hpp"

#include <cstddef>
#include <deque>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rcbroker::actors {

/// The RUNs that wait for a free slot, fair across clients: clients take turns, one RUN a turn,
/// and each client's RUNs leave in the order they came. Pure data: no actor, no frames (the
/// Switchboard keeps those in its routes).
class fair_queue {
public:
  /// One queued RUN.
  struct entry {
    peer_id client;
    protocol::cookie cookie;
  };

  /// Queues `c` of `client` after that client's other RUNs; a client with no RUN queued gets
  /// the last turn.
  void push(peer_id client, const protocol::cookie& c);

  /// Takes the oldest RUN of the client whose turn it is (that client's next turn, if it has
  /// more, comes after every other client's); nullopt when empty.
  std::optional<entry> pop();

  /// Takes `c` of `client` out of the queue; false when it is not queued.
  bool remove(peer_id client, const protocol::cookie& c);

  /// Takes every RUN of `client` out of the queue and returns them, oldest first.
  std::vector<protocol::cookie> remove_client(peer_id client);

  /// Forgets everything.
  void clear();

  /// RUNs queued.
  std::size_t size() const noexcept { return size_; }

  bool empty() const noexcept { return size_ == 0; }

private:
  void drop_turn(peer_id client);

  // Only clients with queued RUNs have an entry (a list: most clients never queue, and an empty
  // std::deque allocates over 500 bytes).
  std::unordered_map<peer_id, std::list<protocol::cookie>> by_client_;
  std::deque<peer_id> turns_;
  std::size_t size_ = 0;
};

} // namespace rcbroker::actors

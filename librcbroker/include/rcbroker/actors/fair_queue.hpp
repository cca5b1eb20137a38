#pragma once

#include "rcbroker/actors/peer_id.hpp"
#include "rcbroker/protocol/cookie.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rcbroker::actors {

/// The RUNs that wait for a free slot: higher priorities first; within one priority, fair across
/// clients: clients take turns, one RUN a turn, and each client's RUNs leave in the order they
/// came. Pure data: no actor, no frames (the Switchboard keeps those in its routes).
class fair_queue {
public:
  /// One queued RUN.
  struct entry {
    peer_id client;
    protocol::cookie cookie;
  };

  /// Queues `c` of `client` at `priority`, after that client's other RUNs of that priority; a
  /// client with no RUN queued at that priority gets its last turn.
  void push(peer_id client, const protocol::cookie& c, std::int64_t priority = 0);

  /// Queues `c` of `client` at `priority` ahead of every RUN of that priority: that client's turn
  /// comes next and `c` is its first RUN (a RUN that runs again after its worker went away).
  void push_front(peer_id client, const protocol::cookie& c, std::int64_t priority = 0);

  /// Takes the oldest RUN of the client whose turn it is at the highest priority (that client's
  /// next turn, if it has more, comes after every other client's); nullopt when empty.
  std::optional<entry> pop();

  /// Takes the first RUN in pop()'s order that `fits` accepts; the RUNs it refuses keep their
  /// places (so a RUN nobody can serve never blocks the others). nullopt when none fits.
  template <class Fits>
  std::optional<entry> pop_first(Fits&& fits) {
    for (auto level = levels_.begin(); level != levels_.end(); ++level) {
      for (std::size_t turn = 0; turn < level->second.turns.size(); ++turn) {
        auto client = level->second.turns[turn];
        auto& runs = level->second.by_client.at(client);
        for (auto it = runs.begin(); it != runs.end(); ++it) {
          if (fits(*it))
            return take(level, turn, it);
        }
      }
    }
    return std::nullopt;
  }

  /// Takes `c` of `client` (queued at `priority`) out of the queue; false when it is not queued.
  bool remove(peer_id client, const protocol::cookie& c, std::int64_t priority = 0);

  /// Takes every RUN of `client` out of the queue and returns them, highest priority first, each
  /// priority's oldest first.
  std::vector<protocol::cookie> remove_client(peer_id client);

  /// Forgets everything.
  void clear();

  /// RUNs queued.
  std::size_t size() const noexcept { return size_; }

  bool empty() const noexcept { return size_ == 0; }

private:
  /// The RUNs of one priority.
  struct level {
    // Only clients with queued RUNs have an entry (a list: most clients never queue, and an
    // empty std::deque allocates over 500 bytes).
    std::unordered_map<peer_id, std::list<protocol::cookie>> by_client;
    std::deque<peer_id> turns;
  };
  using level_map = std::map<std::int64_t, level, std::greater<>>;

  /// Takes the RUN at `run` of the client at `turn` of `lvl`; that client's next turn comes last.
  entry take(level_map::iterator lvl, std::size_t turn, std::list<protocol::cookie>::iterator run);

  /// Forgets `client`'s turn in `lvl` (it has no RUN left there), and `lvl` once it is empty.
  void drop_turn(level_map::iterator lvl, peer_id client);

  level_map levels_;
  std::size_t size_ = 0;
};

} // namespace rcbroker::actors

#pragma once

#include "rcbroker/actors/snapshot.hpp"

#include <cstdint>
#include <vector>

namespace rcbroker::admin {

/// A cluster member with the traffic of its link, as /status and /metrics show it: the
/// membership actor's entry joined with the Switchboard's loads of the link's two halves.
struct member_view {
  const actors::cluster_member* member = nullptr;
  std::uint64_t free_slots = 0;     ///< free slots the member offers here
  std::uint64_t tasks_running = 0;  ///< this node's tasks running there now
  std::uint64_t tasks_sent = 0;     ///< tasks sent there since the link came up
  std::uint64_t tasks_open = 0;     ///< its tasks open here now
  std::uint64_t tasks_received = 0; ///< tasks received from it since the link came up
};

/// The members of `s`, in the membership actor's order; they point into `s`.
std::vector<member_view> member_views(const actors::node_snapshot& s);

} // namespace rcbroker::admin

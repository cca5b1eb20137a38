#include "rcbroker/admin/member_view.hpp"

namespace rcbroker::admin {

namespace {

const actors::peer_load* load_of(const std::vector<actors::peer_load>& loads, std::uint64_t id) {
  if (id == 0)
    return nullptr;
  for (auto& load : loads)
    if (load.actor_id == id)
      return &load;
  return nullptr;
}

} // namespace

std::vector<member_view> member_views(const actors::node_snapshot& s) {
  std::vector<member_view> result;
  for (auto& m : s.members) {
    member_view v;
    v.member = &m;
    if (auto out = load_of(s.switchboard.cluster_link_loads, m.outbound_id)) {
      v.free_slots = out->capacity;
      v.tasks_running = out->in_flight;
      v.tasks_sent = out->total;
    }
    if (auto in = load_of(s.switchboard.client_peers, m.inbound_id)) {
      v.tasks_open = in->in_flight;
      v.tasks_received = in->total;
    }
    result.push_back(v);
  }
  return result;
}

} // namespace rcbroker::admin

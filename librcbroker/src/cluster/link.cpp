#include "rcbroker/cluster/link.hpp"

#include "rcbroker/protocol/packet_reader.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace rcbroker::cluster {

namespace {

using namespace rcbroker::actors;
using protocol::packet_type;

struct link_state {
  switchboard_actor local;
  switchboard_actor remote;
  std::string peer_name;
  static inline const char* name = "cluster_link";
};

using link_pointer = cluster_link_actor::stateful_pointer<link_state>;

void pass_on(link_pointer self, frame& f) {
  auto& st = self->state;
  auto r = protocol::read_packet(f);
  // Both Switchboards only deliver frames that were already read successfully.
  if (!r.ok() || !r.fields.cookie) {
    if (r.fields.type != packet_type::shutdown)
      spdlog::warn("cluster: link to {} dropped an unreadable frame", st.peer_name);
    return;
  }
  auto& c = *r.fields.cookie;
  switch (*r.fields.type) {
    case packet_type::run:
      // Detach is this node's business: the other node must always answer, or the slot
      // offered here would never be freed.
      self->send(st.remote, run_atom::value, c, false, std::move(f));
      break;
    case packet_type::cancel:
      self->send(st.remote, cancel_atom::value, c, std::move(f));
      break;
    case packet_type::result:
      if (r.fields.rc)
        self->send(st.local, result_atom::value, c, *r.fields.rc, std::move(f));
      else
        self->send(st.local, result_atom::value, c, std::move(f));
      break;
    default:
      break;
  }
}

cluster_link_actor::behavior_type link(link_pointer self, switchboard_actor local,
                                       switchboard_actor remote, std::string peer_name) {
  auto& st = self->state;
  st.local = local;
  st.remote = remote;
  st.peer_name = std::move(peer_name);
  self->monitor(local);
  self->monitor(remote);
  self->set_down_handler([self](caf::down_msg& msg) {
    bool remote_down = msg.source == self->state.remote.address();
    spdlog::log(remote_down ? spdlog::level::warn : spdlog::level::debug,
                "cluster: link to {} ends: {} switchboard down ({})", self->state.peer_name,
                remote_down ? "its" : "this node's", caf::to_string(msg.reason));
    self->quit(msg.reason);
  });
  self->send(remote, join_atom::value, peer_role::link_client);
  self->send(local, join_atom::value, peer_role::link_worker);
  return {
    [self](deliver_atom, frame& f) { pass_on(self, f); },
    [self](deliver_atom, std::vector<frame>& frames) {
      for (auto& f : frames)
        pass_on(self, f);
    },
    [self](capacity_atom, std::uint64_t free) {
      self->send(self->state.local, capacity_atom::value, free);
    },
  };
}

} // namespace

actors::cluster_link_actor spawn_link(caf::actor_system& sys, actors::switchboard_actor local,
                                      actors::switchboard_actor remote, std::string peer_name) {
  return sys.spawn(link, std::move(local), std::move(remote), std::move(peer_name));
}

} // namespace rcbroker::cluster

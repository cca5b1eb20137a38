#include "rcbroker/cluster/link.hpp"

#include "rcbroker/logging/repeated.hpp"
#include "rcbroker/protocol/packet_reader.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <optional>
#include <spdlog/spdlog.h>

namespace rcbroker::cluster {

namespace {

using namespace rcbroker::actors;
using protocol::packet_type;

// Both halves take some messages only from the local Switchboard and others only from the bound
// half on the other node: a half's handle is known to the other node, and a message from anyone
// else is dropped.
template <class Remote>
struct half_state {
  switchboard_actor local;
  Remote remote;
  caf::strong_actor_ptr local_ptr;
  caf::strong_actor_ptr remote_ptr;
  link_config cfg;
  std::uint64_t dropped = 0;
};

bool from(const caf::strong_actor_ptr& sender, const caf::strong_actor_ptr& expected) {
  return sender != nullptr && sender == expected;
}

template <class Self>
void drop(Self* self, const char* what) {
  auto n = ++self->state.dropped;
  if (logging::worth_logging(n))
    spdlog::warn("cluster: link {} dropped {} from {} ({} dropped so far)",
                 self->state.cfg.peer_name, what,
                 self->current_sender() ? caf::to_string(self->current_sender()->address())
                                        : std::string{"an anonymous sender"},
                 n);
}

template <class Self, class Remote>
void bind_to(Self* self, Remote remote, peer_role role) {
  auto& st = self->state;
  if (st.remote || !remote)
    return drop(self, "a second bind");
  // Only this node binds a half (the membership actor, after the greeting).
  auto& sender = self->current_sender();
  if (!sender || sender->node() != self->node())
    return drop(self, "a bind");
  st.remote = std::move(remote);
  st.remote_ptr = caf::actor_cast<caf::strong_actor_ptr>(st.remote);
  self->monitor(st.remote);
  self->send(st.local, join_atom::value, role);
}

template <class Self>
void end_on_down(Self* self, const char* half);

/// Sets up either half: its Switchboard (watched) and its settings; it ends with either side.
template <class Self>
void start_half(Self* self, switchboard_actor local, link_config cfg, const char* half) {
  auto& st = self->state;
  st.local = std::move(local);
  st.local_ptr = caf::actor_cast<caf::strong_actor_ptr>(st.local);
  st.cfg = std::move(cfg);
  self->monitor(st.local);
  end_on_down(self, half);
}

template <class Self>
void end_on_down(Self* self, const char* half) {
  self->set_down_handler([self, half](caf::down_msg& msg) {
    bool remote_down = msg.source == self->state.remote.address();
    spdlog::log(remote_down ? spdlog::level::warn : spdlog::level::debug,
                "cluster: {} half of the link with {} ends: {} side down ({})", half,
                self->state.cfg.peer_name, remote_down ? "the other" : "this node's",
                caf::to_string(msg.reason));
    self->quit(msg.reason);
  });
}

// -- outbound half --------------------------------------------------------------------------------

struct outbound_state : half_state<cluster_inbound_actor> {
  // The other node binds its halves first and its inbound half reports its free slots at once:
  // kept until this half is bound, then taken if it came from the half it is bound to.
  std::optional<slot_offer> early_offer;
  caf::strong_actor_ptr early_sender;
  static inline const char* name = "cluster_outbound";
};

using outbound_pointer = cluster_outbound_actor::stateful_pointer<outbound_state>;

void outbound_pass(outbound_pointer self, frame& f, bool from_local) {
  auto& st = self->state;
  auto r = protocol::read_packet(f);
  // Both Switchboards only deliver frames that were already read successfully.
  if (!r.ok() || !r.fields.cookie) {
    if (r.fields.type != packet_type::shutdown)
      spdlog::warn("cluster: link to {} dropped an unreadable frame", st.cfg.peer_name);
    return;
  }
  auto& c = *r.fields.cookie;
  auto type = *r.fields.type;
  if (from_local && type == packet_type::run) {
    self->send(st.remote, run_atom::value, c, std::move(f));
  } else if (from_local && type == packet_type::cancel) {
    self->send(st.remote, cancel_atom::value, c, std::move(f));
  } else if (!from_local && type == packet_type::result) {
    if (r.fields.rc)
      self->send(st.local, result_atom::value, c, *r.fields.rc, std::move(f));
    else
      self->send(st.local, result_atom::value, c, std::move(f));
  } else if (!from_local && type == packet_type::progress) {
    routed_packet p;
    p.type = type;
    p.id = c;
    p.bytes = std::move(f);
    self->send(st.local, packets_atom::value, std::vector<routed_packet>{std::move(p)});
  } else if (type != packet_type::shutdown) {
    drop(self, "a frame of the wrong kind");
  }
}

void outbound_delivered(outbound_pointer self, frame& f) {
  auto& sender = self->current_sender();
  bool local = from(sender, self->state.local_ptr);
  if (!local && !from(sender, self->state.remote_ptr))
    return drop(self, "a frame");
  outbound_pass(self, f, local);
}

cluster_outbound_actor::behavior_type outbound(outbound_pointer self, switchboard_actor local,
                                               link_config cfg) {
  start_half(self, std::move(local), std::move(cfg), "outbound");
  return {
      [self](bind_atom, cluster_inbound_actor& remote) {
        bind_to(self, std::move(remote), peer_role::link_worker);
        auto& st = self->state;
        if (st.early_offer && st.remote_ptr && st.early_sender == st.remote_ptr)
          self->send(st.local, capacity_atom::value, std::move(*st.early_offer));
        st.early_offer.reset();
        st.early_sender = nullptr;
      },
      [self](deliver_atom, frame& f) { outbound_delivered(self, f); },
      [self](deliver_atom, std::vector<frame>& frames) {
        auto& sender = self->current_sender();
        bool local = from(sender, self->state.local_ptr);
        if (!local && !from(sender, self->state.remote_ptr))
          return drop(self, "frames");
        for (auto& f : frames)
          outbound_pass(self, f, local);
      },
      [self](capacity_atom, slot_offer& offer) {
        auto& st = self->state;
        auto& sender = self->current_sender();
        if (!st.remote_ptr && sender && sender->node() != self->node()) {
          st.early_offer = std::move(offer);
          st.early_sender = sender;
          return;
        }
        if (!from(self->current_sender(), st.remote_ptr))
          return drop(self, "a capacity");
        self->send(st.local, capacity_atom::value, std::move(offer));
      },
  };
}

// -- inbound half ---------------------------------------------------------------------------------

struct inbound_state : half_state<cluster_link_actor> {
  static inline const char* name = "cluster_inbound";
};

using inbound_pointer = cluster_inbound_actor::stateful_pointer<inbound_state>;

// RESULTs go back in messages of bounded size: the other node caps what a connection may announce.
void inbound_send_results(inbound_pointer self, std::vector<frame>& frames) {
  auto& st = self->state;
  std::vector<frame> batch;
  std::size_t bytes = 0;
  for (auto& f : frames) {
    auto size = f.payload().size() + 16; // and what serializing it adds
    if (!batch.empty() && bytes + size > st.cfg.max_batch_bytes) {
      self->send(st.remote, deliver_atom::value, std::move(batch));
      batch.clear();
      bytes = 0;
    }
    bytes += size;
    batch.push_back(std::move(f));
  }
  if (batch.size() == 1)
    self->send(st.remote, deliver_atom::value, std::move(batch.front()));
  else if (!batch.empty())
    self->send(st.remote, deliver_atom::value, std::move(batch));
}

cluster_inbound_actor::behavior_type inbound(inbound_pointer self, switchboard_actor local,
                                             link_config cfg) {
  start_half(self, std::move(local), std::move(cfg), "inbound");
  return {
      [self](bind_atom, cluster_link_actor& remote) {
        bind_to(self, std::move(remote), peer_role::link_client);
      },
      [self](run_atom, const cookie& c, frame& f) {
        if (!from(self->current_sender(), self->state.remote_ptr))
          return drop(self, "a RUN");
        // Detach is the other node's business: it always wants the answer, or the slot it
        // counted for this RUN would never be freed.
        self->send(self->state.local, run_atom::value, c, false, std::move(f));
      },
      [self](cancel_atom, const cookie& c, frame& f) {
        if (!from(self->current_sender(), self->state.remote_ptr))
          return drop(self, "a CANCEL");
        self->send(self->state.local, cancel_atom::value, c, std::move(f));
      },
      [self](deliver_atom, frame& f) {
        if (!from(self->current_sender(), self->state.local_ptr))
          return drop(self, "a frame");
        self->send(self->state.remote, deliver_atom::value, std::move(f));
      },
      [self](deliver_atom, std::vector<frame>& frames) {
        if (!from(self->current_sender(), self->state.local_ptr))
          return drop(self, "frames");
        inbound_send_results(self, frames);
      },
      [self](capacity_atom, slot_offer& offer) {
        if (!from(self->current_sender(), self->state.local_ptr))
          return drop(self, "a capacity");
        self->send(self->state.remote, capacity_atom::value, std::move(offer));
      },
  };
}

} // namespace

actors::cluster_outbound_actor
spawn_outbound_link(caf::actor_system& sys, actors::switchboard_actor local, link_config cfg) {
  return sys.spawn(outbound, std::move(local), std::move(cfg));
}

actors::cluster_inbound_actor spawn_inbound_link(caf::actor_system& sys,
                                                 actors::switchboard_actor local, link_config cfg) {
  return sys.spawn(inbound, std::move(local), std::move(cfg));
}

} // namespace rcbroker::cluster

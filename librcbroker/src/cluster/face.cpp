#include "rcbroker/cluster/face.hpp"

#include "rcbroker/actors/packet_check.hpp"
#include "rcbroker/actors/switchboard.hpp"
#include "rcbroker/logging/repeated.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <spdlog/spdlog.h>
#include <unordered_map>

namespace rcbroker::cluster {

namespace {

using namespace rcbroker::actors;

// -- the stand-in of a remote actor client or worker ----------------------------------------------

struct stand_in_state {
  switchboard_actor sb;
  peer_actor remote;
  caf::strong_actor_ptr sb_ptr;
  static inline const char* name = "cluster_stand_in";
};

using stand_in_pointer = cluster_stand_in_actor::stateful_pointer<stand_in_state>;

bool local(stand_in_pointer self) {
  auto& sender = self->current_sender();
  return sender != nullptr && sender->node() == self->node();
}

cluster_stand_in_actor::behavior_type stand_in(stand_in_pointer self, switchboard_actor sb,
                                               peer_actor remote, peer_role role) {
  auto& st = self->state;
  st.sb = std::move(sb);
  st.sb_ptr = caf::actor_cast<caf::strong_actor_ptr>(st.sb);
  st.remote = std::move(remote);
  self->monitor(st.sb);
  self->monitor(st.remote);
  self->set_down_handler([self](caf::down_msg& msg) { self->quit(msg.reason); });
  self->send(st.sb, join_atom::value, role);
  // The face passes on the remote actor's messages; only the Switchboard delivers frames.
  return {
      [self](deliver_atom, frame& f) {
        if (self->current_sender() == self->state.sb_ptr)
          self->send(self->state.remote, deliver_atom::value, std::move(f));
      },
      [self](deliver_atom, std::vector<frame>& frames) {
        if (self->current_sender() == self->state.sb_ptr)
          self->send(self->state.remote, deliver_atom::value, std::move(frames));
      },
      [self](run_atom, const cookie& c, bool detach, frame& f) {
        if (local(self))
          self->send(self->state.sb, run_atom::value, c, detach, std::move(f));
      },
      [self](run_atom, const cookie& c, bool detach, frame& f, const run_settings& settings) {
        if (local(self))
          self->send(self->state.sb, run_atom::value, c, detach, std::move(f), settings);
      },
      [self](cancel_atom, const cookie& c, frame& f) {
        if (local(self))
          self->send(self->state.sb, cancel_atom::value, c, std::move(f));
      },
      [self](register_atom, std::uint32_t capacity) {
        if (local(self))
          self->send(self->state.sb, register_atom::value, capacity);
      },
      [self](register_atom, std::uint32_t capacity, std::vector<std::string>& pipelines) {
        if (local(self))
          self->send(self->state.sb, register_atom::value, capacity, std::move(pipelines));
      },
      [self](result_atom, const cookie& c, frame& f) {
        if (local(self))
          self->send(self->state.sb, result_atom::value, c, std::move(f));
      },
  };
}

// -- the face
// ---------------------------------------------------------------------------------------

struct stand_in_entry {
  cluster_stand_in_actor handle;
  peer_role role = peer_role::client;
};

struct face_state {
  switchboard_actor sb;
  cluster_membership_actor membership;
  face_config cfg;
  std::unordered_map<caf::actor_addr, stand_in_entry> stand_ins;
  std::size_t clients = 0;
  std::size_t workers = 0;
  std::uint64_t refused = 0;
  static inline const char* name = "cluster_face";
};

using face_pointer = cluster_face_actor::stateful_pointer<face_state>;

void refuse(face_pointer self, const std::string& what) {
  auto n = ++self->state.refused;
  if (logging::worth_logging(n)) {
    auto& sender = self->current_sender();
    spdlog::warn("cluster: refused {} from {} ({} refused so far)", what,
                 sender ? caf::to_string(sender->address()) : std::string{"an anonymous sender"},
                 n);
  }
}

/// The stand-in of the current sender, or null when it has not joined.
cluster_stand_in_actor* stand_in_of(face_pointer self, const char* what) {
  auto& sender = self->current_sender();
  if (sender) {
    auto i = self->state.stand_ins.find(sender->address());
    if (i != self->state.stand_ins.end())
      return &i->second.handle;
  }
  refuse(self, std::string{what} + " before joining");
  return nullptr;
}

void on_join(face_pointer self, peer_role role) {
  auto& st = self->state;
  auto& sender = self->current_sender();
  if (!sender)
    return refuse(self, "an anonymous join");
  if (role != peer_role::client && role != peer_role::worker)
    return refuse(self, std::string{"a join as "} + role_name(role) +
                            " (other nodes link by greeting the face)");
  if (st.stand_ins.count(sender->address()) != 0)
    return refuse(self, "a second join");
  auto& count = role == peer_role::client ? st.clients : st.workers;
  auto limit = role == peer_role::client ? st.cfg.max_clients : st.cfg.max_workers;
  if (limit != 0 && count >= limit)
    return refuse(self, std::string{"an actor "} + role_name(role) + ": " + std::to_string(limit) +
                            " are served already");
  auto handle = self->system().spawn(stand_in, st.sb, caf::actor_cast<peer_actor>(sender), role);
  self->monitor(handle);
  st.stand_ins.emplace(sender->address(), stand_in_entry{handle, role});
  ++count;
  spdlog::info("cluster: actor {} {} joined from node {}", role_name(role),
               caf::to_string(sender->address()), caf::to_string(sender->node()));
}

void on_stand_in_down(face_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (auto i = st.stand_ins.begin(); i != st.stand_ins.end(); ++i) {
    if (i->second.handle.address() != msg.source)
      continue;
    --(i->second.role == peer_role::client ? st.clients : st.workers);
    spdlog::info("cluster: actor {} {} left", role_name(i->second.role), caf::to_string(i->first));
    st.stand_ins.erase(i);
    return;
  }
}

/// Passes on a REGISTER whose token was checked, with its pipelines (the Switchboard trusts the
/// list, as a connection's check gives it).
void register_pipelines(face_pointer self, std::uint32_t capacity,
                        std::vector<std::string>& pipelines) {
  if (pipelines.empty() || std::any_of(pipelines.begin(), pipelines.end(),
                                       [](const std::string& name) { return name.empty(); }))
    return refuse(self, "a REGISTER with an empty pipeline list or name");
  if (auto h = stand_in_of(self, "a REGISTER"))
    self->send(*h, register_atom::value, capacity, std::move(pipelines));
}

cluster_face_actor::behavior_type face(face_pointer self, switchboard_actor sb, face_config cfg) {
  self->state.sb = std::move(sb);
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& msg) { on_stand_in_down(self, msg); });
  return {
      [self](bind_atom, cluster_membership_actor& membership) {
        auto& sender = self->current_sender();
        if (self->state.membership || !sender || sender->node() != self->node())
          return refuse(self, "a bind");
        self->state.membership = std::move(membership);
      },
      [self](hello_atom, member_hello& hello) -> caf::typed_response_promise<member_hello> {
        // Read before the promise, which takes the sender out of the current message.
        auto sender = self->current_sender();
        auto rp = self->make_response_promise<member_hello>();
        if (!sender || !self->state.membership) {
          rp.deliver(caf::make_error(caf::sec::request_receiver_down));
          return rp;
        }
        // Answered by the face itself: the other node never learns the membership actor.
        // Within the greeter's own timeout (5 s): a late answer would link a member whose
        // greeter already gave up.
        self->request(self->state.membership, std::chrono::seconds{4}, hello_atom::value,
                      sender->node(), std::move(hello))
            .then([rp](member_hello& answer) mutable { rp.deliver(std::move(answer)); },
                  [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](members_atom, std::vector<std::string>& addresses) {
        auto& sender = self->current_sender();
        if (sender && self->state.membership)
          self->send(self->state.membership, members_atom::value, sender->node(),
                     std::move(addresses));
      },
      [self](join_atom, peer_role role) { on_join(self, role); },
      [self](run_atom, const cookie& c, bool detach, frame& f) {
        if (auto h = stand_in_of(self, "a RUN"))
          self->send(*h, run_atom::value, c, detach, std::move(f));
      },
      [self](run_atom, const cookie& c, bool detach, frame& f, const run_settings& settings) {
        // The Switchboard trusts the range, as a connection's check gives it.
        if (settings.retries < -1 ||
            settings.retries > static_cast<std::int32_t>(actors::max_retries_on_worker_loss))
          return refuse(self, "a RUN with retries out of range");
        if (auto h = stand_in_of(self, "a RUN"))
          self->send(*h, run_atom::value, c, detach, std::move(f), settings);
      },
      [self](cancel_atom, const cookie& c, frame& f) {
        if (auto h = stand_in_of(self, "a CANCEL"))
          self->send(*h, cancel_atom::value, c, std::move(f));
      },
      [self](register_atom, std::uint32_t capacity) {
        if (!self->state.cfg.worker_token.empty())
          return refuse(self, "a REGISTER without the worker token");
        if (auto h = stand_in_of(self, "a REGISTER"))
          self->send(*h, register_atom::value, capacity);
      },
      [self](register_atom, std::uint32_t capacity, const std::string& token) {
        auto& expected = self->state.cfg.worker_token;
        if (!expected.empty() && !same_token(token, expected))
          return refuse(self, "a REGISTER with a wrong worker token");
        if (auto h = stand_in_of(self, "a REGISTER"))
          self->send(*h, register_atom::value, capacity);
      },
      [self](register_atom, std::uint32_t capacity, std::vector<std::string>& pipelines) {
        if (!self->state.cfg.worker_token.empty())
          return refuse(self, "a REGISTER without the worker token");
        register_pipelines(self, capacity, pipelines);
      },
      [self](register_atom, std::uint32_t capacity, const std::string& token,
             std::vector<std::string>& pipelines) {
        auto& expected = self->state.cfg.worker_token;
        if (!expected.empty() && !same_token(token, expected))
          return refuse(self, "a REGISTER with a wrong worker token");
        register_pipelines(self, capacity, pipelines);
      },
      [self](result_atom, const cookie& c, frame& f) {
        if (auto h = stand_in_of(self, "a RESULT"))
          self->send(*h, result_atom::value, c, std::move(f));
      },
  };
}

} // namespace

actors::cluster_face_actor spawn_face(caf::actor_system& sys, actors::switchboard_actor sb,
                                      face_config cfg) {
  return sys.spawn(face, std::move(sb), std::move(cfg));
}

} // namespace rcbroker::cluster

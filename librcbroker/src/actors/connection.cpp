#include "rcbroker/actors/connection.hpp"

#include "rcbroker/actors/packet_check.hpp"
#include "rcbroker/logging/component.hpp"
#include "rcbroker/logging/repeated.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "rcbroker/runtime/io_scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace rcbroker::actors {

namespace {

/// This file's logger: its level is the `connection` entry of `log-levels`.
spdlog::logger& connection_log() {
  return logging::logger(logging::component::connection);
}

using protocol::packet_type;
using protocol::result_code;

struct connection_state {
  peer_role role = peer_role::client;
  transport::channel_ptr stream;
  switchboard_actor switchboard;
  std::string peer_name;    // for logs, e.g. "client#3 (tcp 127.0.0.1:40122)"
  std::string worker_token; // empty: REGISTER needs none
  std::uint64_t bad_packets = 0;
  /// The node's counts of refused packets, by reason (may be null).
  std::shared_ptr<packet_refusals> refusals;
  /// The RUNs, CANCELs or RESULTs of the batch being read, for one message to the Switchboard.
  std::vector<routed_packet> routed;
  /// The frames of the batch being handled, and the next one to handle.
  std::vector<frame> batch;
  std::size_t next = 0;
  /// Reads the large frames (may be null: then every frame is read here).
  frame_reader_actor reader;
  static inline const char* name = "connection";
};

using connection_pointer = connection_actor::stateful_pointer<connection_state>;

void reply(connection_pointer self, const std::optional<cookie>& c, result_code rc,
           std::string_view error) {
  self->state.stream->send(protocol::make_broker_result(c, rc, error));
}

/// The host part of a stream's name ("tcp 127.0.0.1:40122" → "127.0.0.1", "tls [::1]:9" →
/// "::1", "unix" → "unix"): what `max-runs-per-address` counts by.
std::string peer_host(std::string_view name) {
  if (auto space = name.find(' '); space != std::string_view::npos)
    name.remove_prefix(space + 1);
  if (auto colon = name.rfind(':'); colon != std::string_view::npos)
    name = name.substr(0, colon);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);
  return std::string{name};
}

/// Sends the routed packets gathered so far to the Switchboard, as one message.
void pass_routed(connection_pointer self) {
  auto& st = self->state;
  if (st.routed.empty())
    return;
  self->send(st.switchboard, packets_atom::value, std::move(st.routed));
  st.routed = {};
}

void handle_packet(connection_pointer self, frame& f, protocol::read_result r) {
  auto& st = self->state;
  auto v = check_packet(st.role, std::move(r), st.worker_token);
  if (v.refused && st.refusals)
    st.refusals->count(*v.refused);
  if (v.misbehaved && logging::worth_logging(++st.bad_packets))
    connection_log().warn("{}: {} ({}) [{} bad packets so far]", st.peer_name,
                          v.what == packet_verdict::action::close ? "closing"
                                                                  : "answered BAD_PACKET",
                          v.error, st.bad_packets);
  switch (v.what) {
  case packet_verdict::action::route:
    v.routed.bytes = std::move(f);
    st.routed.push_back(std::move(v.routed));
    break;
  case packet_verdict::action::enroll:
    pass_routed(self); // what came before the REGISTER reaches the Switchboard before it
    if (v.pipelines)
      self->send(st.switchboard, register_atom::value, v.capacity, std::move(*v.pipelines));
    else
      self->send(st.switchboard, register_atom::value, v.capacity);
    break;
  case packet_verdict::action::answer:
    reply(self, v.cookie, v.rc, v.error);
    break;
  case packet_verdict::action::close:
    st.stream->reject(v.error);
    break;
  case packet_verdict::action::drop:
    connection_log().warn("{}: {} dropped", st.peer_name, v.error);
    break;
  }
}

/// Handles the frames of the current batch from `next` on. A large frame goes to the frame
/// reader; the connection awaits its answer (taking no other message meanwhile, so order holds)
/// and then goes on with the rest. At the end of the batch the stream may read again.
void handle_batch(connection_pointer self) {
  auto& st = self->state;
  while (st.next < st.batch.size()) {
    auto& f = st.batch[st.next];
    if (st.reader && f.payload().size() > large_frame_bytes) {
      self->request(st.reader, caf::infinite, read_atom::value, f)
          .await(
              [self](protocol::read_result& r) {
                auto& st = self->state;
                handle_packet(self, st.batch[st.next++], std::move(r));
                handle_batch(self);
              },
              [self](caf::error& err) {
                connection_log().error("{}: the frame reader failed ({}); closing",
                                       self->state.peer_name, caf::to_string(err));
                self->state.stream->close("the frame reader failed");
              });
      return;
    }
    handle_packet(self, f, protocol::read_packet(f));
    ++st.next;
  }
  st.batch.clear();
  pass_routed(self);
  st.stream->consumed();
}

connection_actor::behavior_type connection(connection_pointer self, peer_role role,
                                           transport::channel_ptr stream, switchboard_actor sb,
                                           std::string name, std::string worker_token,
                                           frame_reader_actor reader,
                                           std::shared_ptr<packet_refusals> refusals) {
  auto& st = self->state;
  st.reader = std::move(reader);
  st.refusals = std::move(refusals);
  st.role = role;
  st.stream = stream;
  st.switchboard = sb;
  st.peer_name = std::move(name);
  st.worker_token = std::move(worker_token);
  if (role == peer_role::client)
    self->send(sb, join_atom::value, role, peer_host(stream->name()), stream->one_request(),
               stream->transport());
  else
    self->send(sb, join_atom::value, role);
  auto handle = caf::actor_cast<connection_actor>(self);
  stream->start({[handle](std::vector<frame>&& frames) {
                   // The actors these frames reach run once, when the batch ends: still inside
                   // this read handler, on this thread.
                   runtime::io_scheduler::batch batch;
                   caf::anon_send(handle, frames_atom::value, std::move(frames));
                 },
                 [handle](std::string reason) {
                   caf::anon_send(handle, closed_atom::value, std::move(reason));
                 },
                 true});
  // However the actor ends, its socket ends with it.
  self->attach_functor([stream] { stream->close("connection actor ended"); });
  return {
      // Connections run on their socket's thread (runtime::io_scheduler): they write directly.
      [self](deliver_atom, frame& f) { self->state.stream->send(std::move(f)); },
      [self](deliver_atom, std::vector<frame>& frames) {
        for (auto& f : frames)
          self->state.stream->send(std::move(f));
      },
      [self](frames_atom, std::vector<frame>& frames) {
        self->state.batch = std::move(frames);
        self->state.next = 0;
        handle_batch(self);
      },
      [self](closed_atom, std::string& reason) {
        connection_log().log(self->state.stream->one_request() ? spdlog::level::debug
                                                               : spdlog::level::info,
                             "{} disconnected: {}", self->state.peer_name, reason);
        self->quit();
      },
      [self](close_atom) { self->state.stream->close_after_flush(); },
  };
}

} // namespace

connection_actor spawn_connection(caf::actor_system& sys, peer_role role,
                                  transport::channel_ptr stream, switchboard_actor sb,
                                  std::string name, std::string worker_token,
                                  frame_reader_actor reader,
                                  std::shared_ptr<packet_refusals> refusals) {
  return sys.spawn(connection, role, std::move(stream), std::move(sb), std::move(name),
                   std::move(worker_token), std::move(reader), std::move(refusals));
}

} // namespace rcbroker::actors

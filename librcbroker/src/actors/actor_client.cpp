#include "rcbroker/actors/actor_client.hpp"

#include "rcbroker/actors/switchboard.hpp"
#include "rcbroker/client/random_cookie.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>
#include <unordered_map>

namespace rcbroker::actors {

namespace {

using protocol::packet_type;
using protocol::result_code;

struct client_state {
  submission_actor switchboard;
  std::unordered_map<cookie, caf::typed_response_promise<run_outcome>> pending;
  static inline const char* name = "actor_client";
};

using client_pointer = actor_client_actor::stateful_pointer<client_state>;

run_outcome failure(const cookie& c, result_code rc, std::string error) {
  return {c, std::string{protocol::to_string(rc)}, {}, std::move(error), {}};
}

void client_delivered(client_pointer self, const frame& f) {
  auto r = protocol::read_packet(f, protocol::read_scope::whole);
  // An actor client never asks for PROGRESS; one that comes anyway does not end its run.
  if (r.fields.type == packet_type::progress)
    return;
  if (r.ok())
    r.error = protocol::check_result_packet(r.fields);
  if (!r.fields.cookie)
    return;
  auto i = self->state.pending.find(*r.fields.cookie);
  if (i == self->state.pending.end())
    return;
  auto& x = r.fields;
  if (!r.ok())
    i->second.deliver(failure(*x.cookie, result_code::bad_packet, r.error));
  else
    i->second.deliver(run_outcome{*x.cookie, std::string{protocol::to_string(*x.rc)},
                                  x.result.value_or(""), x.error.value_or(""),
                                  x.stacktrace.value_or(std::vector<std::string>{}),
                                  x.attempts.value_or(0)});
  self->state.pending.erase(i);
}

/// Sends a RUN with `settings` (the defaults: an original client's RUN) and returns the promise
/// of its outcome.
caf::typed_response_promise<run_outcome> submit(client_pointer self, const std::string& pipeline,
                                                const std::string& variables,
                                                const run_settings& settings) {
  auto c = client::random_cookie();
  auto rp = self->make_response_promise<run_outcome>();
  if (settings.retries < -1 ||
      settings.retries > static_cast<std::int32_t>(max_retries_on_worker_loss)) {
    rp.deliver(
        failure(c, result_code::bad_packet,
                "Bad retries: an integer from 0 to " + std::to_string(max_retries_on_worker_loss)));
    return rp;
  }
  self->state.pending.emplace(c, rp);
  bool defaults = settings.priority == 0 && settings.retries < 0;
  if (defaults) {
    self->send(self->state.switchboard, run_atom::value, c, false,
               protocol::make_run(c, pipeline, variables, false));
    return rp;
  }
  // The worker sees the fields a socket client's RUN would carry; the Switchboard takes them
  // typed.
  protocol::run_extensions extensions;
  if (settings.priority != 0)
    extensions.priority = settings.priority;
  if (settings.retries >= 0)
    extensions.retries = settings.retries;
  self->send(self->state.switchboard, run_atom::value, c, false,
             protocol::make_run(c, pipeline, variables, false, extensions), settings);
  return rp;
}

actor_client_actor::behavior_type actor_client(client_pointer self, submission_actor sb) {
  self->state.switchboard = sb;
  self->monitor(sb);
  self->set_down_handler([self](caf::down_msg&) {
    for (auto& [c, rp] : self->state.pending)
      rp.deliver(failure(c, result_code::broker_went_away, "The broker went away"));
    self->state.pending.clear();
    self->quit();
  });
  self->send(sb, join_atom::value, peer_role::client);
  return {
      [self](run_atom, std::string& pipeline,
             std::string& variables) -> caf::typed_response_promise<run_outcome> {
        return submit(self, pipeline, variables, run_settings{});
      },
      [self](run_atom, std::string& pipeline, std::string& variables,
             const run_settings& settings) -> caf::typed_response_promise<run_outcome> {
        return submit(self, pipeline, variables, settings);
      },
      [self](cancel_atom, const cookie& c) {
        self->send(self->state.switchboard, cancel_atom::value, c, protocol::make_cancel(c));
      },
      [self](deliver_atom, const frame& f) { client_delivered(self, f); },
      [self](deliver_atom, const std::vector<frame>& frames) {
        for (auto& f : frames)
          client_delivered(self, f);
      },
  };
}

struct worker_state {
  submission_actor switchboard;
  actor_task_handler handler;
  static inline const char* name = "actor_worker";
};

using worker_pointer = peer_actor::stateful_pointer<worker_state>;

/// Handles one frame; false once the worker has quit (after SHUTDOWN), so that no later frame
/// of the same delivery is handled.
bool worker_delivered(worker_pointer self, const frame& f) {
  auto r = protocol::read_packet(f, protocol::read_scope::whole);
  if (r.ok())
    r.error = protocol::check_worker_packet(r.fields);
  if (!r.ok()) {
    spdlog::warn("actor worker: unreadable packet from the broker: {}", r.error);
    return true;
  }
  auto& x = r.fields;
  if (x.type == packet_type::shutdown) {
    self->quit();
    return false;
  }
  // Tasks run to completion inside the actor: a CANCEL always finds its task done.
  if (x.type != packet_type::run)
    return true;
  frame answer;
  try {
    answer = protocol::make_result(*x.cookie, result_code::ok,
                                   self->state.handler(*x.pipeline, x.variables.value_or("")));
  } catch (const std::exception& e) {
    answer = protocol::make_result(*x.cookie, result_code::processor_exception, std::nullopt,
                                   std::string{e.what()}, std::vector<std::string>{e.what()});
  }
  self->send(self->state.switchboard, result_atom::value, *x.cookie, std::move(answer));
  return true;
}

peer_actor::behavior_type actor_worker(worker_pointer self, submission_actor sb,
                                       std::uint32_t capacity, actor_task_handler handler,
                                       std::string token, std::vector<std::string> pipelines) {
  self->state.switchboard = sb;
  self->state.handler = std::move(handler);
  self->monitor(sb);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  self->send(sb, join_atom::value, peer_role::worker);
  if (pipelines.empty()) {
    if (token.empty())
      self->send(sb, register_atom::value, capacity);
    else
      self->send(sb, register_atom::value, capacity, std::move(token));
  } else if (token.empty()) {
    self->send(sb, register_atom::value, capacity, std::move(pipelines));
  } else {
    self->send(sb, register_atom::value, capacity, std::move(token), std::move(pipelines));
  }
  return {
      [self](deliver_atom, const frame& f) { worker_delivered(self, f); },
      [self](deliver_atom, const std::vector<frame>& frames) {
        for (auto& f : frames)
          if (!worker_delivered(self, f))
            break;
      },
  };
}

} // namespace

actor_client_actor spawn_actor_client(caf::actor_system& sys, submission_actor sb) {
  return sys.spawn(actor_client, std::move(sb));
}

peer_actor spawn_actor_worker(caf::actor_system& sys, submission_actor sb, std::uint32_t capacity,
                              actor_task_handler handler, std::string token,
                              std::vector<std::string> pipelines) {
  return sys.spawn(actor_worker, std::move(sb), capacity, std::move(handler), std::move(token),
                   std::move(pipelines));
}

} // namespace rcbroker::actors

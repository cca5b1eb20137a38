#include "rcbroker/testing/scripted_worker.hpp"

#include "rcbroker/testing/deterministic_system.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <set>

namespace rcbroker::testing {

namespace {

struct worker_state {
  actors::switchboard_actor switchboard;
  worker_script script;
  std::shared_ptr<worker_log> log;
  std::set<cookie> answer_on_cancel; ///< hung tasks whose CANCEL gets EXCEPTION "Cancelled"
  bool quitting = false;             ///< set by `die` and SHUTDOWN: ignore the rest
  static inline const char* name = "scripted_worker";
};

using worker_pointer = actors::peer_actor::stateful_pointer<worker_state>;

frame result_of(const cookie& c, const worker_step& step) {
  return worker_result_packet(c, step.rc, step.result, step.error, step.stacktrace);
}

void on_run(worker_pointer self, const worker_task& task) {
  auto& st = self->state;
  st.log->runs.push_back(task);
  auto step = st.script(task);
  switch (step.what) {
  case worker_step::kind::die:
    st.quitting = true;
    self->quit(caf::exit_reason::user_shutdown);
    return;
  case worker_step::kind::hang:
    if (step.answers_cancel)
      st.answer_on_cancel.insert(task.id);
    return;
  case worker_step::kind::answer:
    if (step.delay > caf::timespan::zero())
      self->delayed_send(st.switchboard, step.delay, actors::result_atom::value, task.id,
                         result_of(task.id, step));
    else
      self->send(st.switchboard, actors::result_atom::value, task.id, result_of(task.id, step));
    return;
  }
}

void on_cancel(worker_pointer self, const cookie& c) {
  auto& st = self->state;
  st.log->cancels.push_back(c);
  if (st.answer_on_cancel.erase(c) == 0)
    return;
  self->send(st.switchboard, actors::result_atom::value, c,
             result_of(c, worker_step::fail(result_code::exception, "Cancelled")));
}

/// Handles one frame; false once the worker has exited, so that the rest of a delivery is not.
bool on_frame(worker_pointer self, const frame& f) {
  auto packet = read_worker_packet(f);
  if (!packet)
    return true;
  switch (packet->type) {
  case packet_type::run:
    on_run(self, packet->task);
    break;
  case packet_type::cancel:
    on_cancel(self, packet->task.id);
    break;
  case packet_type::shutdown:
    self->state.log->shutdown = true;
    self->state.quitting = true;
    self->quit();
    break;
  default:
    break;
  }
  return !self->state.quitting;
}

actors::peer_actor::behavior_type scripted_worker_actor(worker_pointer self,
                                                        actors::switchboard_actor sb,
                                                        std::uint32_t slots, worker_script script,
                                                        std::shared_ptr<worker_log> log) {
  self->state.switchboard = sb;
  self->state.script = std::move(script);
  self->state.log = log;
  self->attach_functor([log] { log->alive = false; });
  self->send(sb, actors::join_atom::value, actors::peer_role::worker);
  if (slots > 0)
    self->send(sb, actors::register_atom::value, slots);
  return {
      [self](actors::deliver_atom, const frame& f) { on_frame(self, f); },
      [self](actors::deliver_atom, const std::vector<frame>& frames) {
        for (auto& f : frames)
          if (!on_frame(self, f))
            break;
      },
  };
}

} // namespace

scripted_worker::scripted_worker(deterministic_system& sys, actors::switchboard_actor sb,
                                 std::uint32_t slots, worker_script script)
    : sys_(&sys), sb_(std::move(sb)), log_(std::make_shared<worker_log>()) {
  handle_ = sys.system().spawn(scripted_worker_actor, sb_, slots, std::move(script), log_);
  sys.stop_at_end(caf::actor_cast<caf::actor>(handle_));
  sys.run();
}

void scripted_worker::register_slots(std::uint32_t slots) {
  caf::send_as(handle_, sb_, actors::register_atom::value, slots);
  sys_->run();
}

void scripted_worker::respond(const cookie& c, const worker_step& step) {
  caf::send_as(handle_, sb_, actors::result_atom::value, c, result_of(c, step));
  sys_->run();
}

void scripted_worker::die() {
  caf::anon_send_exit(handle_, caf::exit_reason::kill);
  sys_->run();
}

} // namespace rcbroker::testing

#include "rcbroker/testing/harness.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

namespace rcbroker::testing {

namespace {

/// Requests `Atom` from `sb` and stores the answer in `out` (spawned with arguments: see
/// recorded_peer.cpp).
template <class Result, class Atom>
void ask(caf::event_based_actor* self, actors::switchboard_actor sb,
         std::shared_ptr<std::optional<Result>> out) {
  self->request(sb, caf::infinite, Atom::value).then([out](const Result& r) { *out = r; });
}

template <class Result, class Atom>
std::optional<Result> ask_switchboard(deterministic_system& sys,
                                      const actors::switchboard_actor& sb) {
  auto out = std::make_shared<std::optional<Result>>();
  sys.system().spawn(ask<Result, Atom>, sb, out);
  sys.run();
  return *out;
}

void ask_shutdown(caf::event_based_actor* self, actors::switchboard_actor sb,
                  std::function<void()> on_reply, std::shared_ptr<bool> replied) {
  self->request(sb, caf::infinite, actors::shutdown_atom::value)
      .then([on_reply, replied](actors::done_atom) {
        *replied = true;
        if (on_reply)
          on_reply();
      });
}

} // namespace

harness::harness(const actors::switchboard_config& config)
    : owned_(std::make_unique<deterministic_system>()), sys_(owned_.get()) {
  start(config);
}

harness::harness(deterministic_system& sys, const actors::switchboard_config& config) : sys_(&sys) {
  start(config);
}

void harness::start(const actors::switchboard_config& config) {
  switchboard_ = actors::spawn_switchboard(sys_->system(), config);
  sys_->stop_at_end(caf::actor_cast<caf::actor>(switchboard_));
  sys_->run();
}

scripted_client harness::client() {
  return scripted_client{*sys_, switchboard_};
}

scripted_worker harness::worker(std::uint32_t slots, worker_script script) {
  return scripted_worker{*sys_, switchboard_, slots, std::move(script)};
}

recorded_peer harness::join(actors::peer_role role) {
  auto peer = spawn_recorded_peer(*sys_);
  caf::send_as(peer.handle, switchboard_, actors::join_atom::value, role);
  sys_->run();
  return peer;
}

std::optional<actors::switchboard_status> harness::status() {
  return ask_switchboard<actors::switchboard_status, actors::status_atom>(*sys_, switchboard_);
}

std::optional<actors::switchboard_snapshot> harness::snapshot() {
  return ask_switchboard<actors::switchboard_snapshot, actors::metrics_atom>(*sys_, switchboard_);
}

bool harness::shutdown(const std::function<void()>& on_reply) {
  auto replied = std::make_shared<bool>(false);
  sys_->system().spawn(ask_shutdown, switchboard_, on_reply, replied);
  sys_->run();
  return *replied;
}

} // namespace rcbroker::testing

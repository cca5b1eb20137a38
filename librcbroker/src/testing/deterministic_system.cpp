#include "rcbroker/testing/deterministic_system.hpp"

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

namespace rcbroker::testing {

namespace {

caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  return cfg;
}

} // namespace

deterministic_system::deterministic_system()
    : system_(testing_config(config_)),
      scheduler_(dynamic_cast<caf::scheduler::test_coordinator&>(system_.scheduler())) {}

deterministic_system::~deterministic_system() {
  for (auto& a : to_stop_)
    caf::anon_send_exit(a, caf::exit_reason::kill);
  scheduler_.run();
}

std::size_t deterministic_system::run() {
  return scheduler_.run();
}

std::size_t deterministic_system::advance_time(caf::timespan d) {
  auto fired = scheduler_.advance_time(d);
  scheduler_.run();
  return fired;
}

caf::actor_clock::time_point deterministic_system::now() noexcept {
  return scheduler_.clock().now();
}

protocol::cookie deterministic_system::next_cookie() noexcept {
  auto n = ++cookies_made_;
  protocol::cookie c;
  for (std::size_t i = 0; i < 8; ++i)
    c.bytes[15 - i] = static_cast<std::uint8_t>(n >> (8 * i));
  return c;
}

void deterministic_system::stop_at_end(caf::actor a) {
  to_stop_.push_back(std::move(a));
}

} // namespace rcbroker::testing

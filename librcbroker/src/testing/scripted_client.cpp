#include "rcbroker/testing/scripted_client.hpp"

#include "rcbroker/testing/deterministic_system.hpp"

#include <caf/send.hpp>
#include <chrono>

namespace rcbroker::testing {

scripted_client::scripted_client(deterministic_system& sys, actors::switchboard_actor sb)
    : sys_(&sys), sb_(std::move(sb)), peer_(spawn_recorded_peer(sys)) {
  caf::send_as(peer_.handle, sb_, actors::join_atom::value, actors::peer_role::client);
  sys_->run();
}

cookie scripted_client::run(const run_options& options) {
  auto c = sys_->next_cookie();
  run(c, options);
  return c;
}

void scripted_client::run(const cookie& c, const run_options& options) {
  actors::routed_packet p;
  p.type = packet_type::run;
  p.id = c;
  p.detach = options.detach;
  p.bytes = client_run_packet(c, options.pipeline, options.variables, options.detach);
  p.timeout_ms = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout).count());
  caf::send_as(peer_.handle, sb_, actors::packets_atom::value,
               std::vector<actors::routed_packet>{std::move(p)});
  sys_->run();
}

void scripted_client::cancel(const cookie& c) {
  caf::send_as(peer_.handle, sb_, actors::cancel_atom::value, c, client_cancel_packet(c));
  sys_->run();
}

void scripted_client::disconnect() {
  caf::anon_send_exit(peer_.handle, caf::exit_reason::kill);
  sys_->run();
}

std::vector<received_result> scripted_client::results() const {
  std::vector<received_result> out;
  for (auto& f : *peer_.inbox)
    if (auto r = read_received_result(f))
      out.push_back(std::move(*r));
  return out;
}

std::optional<received_result> scripted_client::result_for(const cookie& c) const {
  for (auto& f : *peer_.inbox)
    if (auto r = read_received_result(f); r && r->id == c)
      return r;
  return std::nullopt;
}

} // namespace rcbroker::testing

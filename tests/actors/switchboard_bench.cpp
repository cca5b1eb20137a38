// switchboard_bench: what one task costs the Switchboard, which bounds a node's throughput.
//
// A client actor keeps D RUNs in flight through the Switchboard to a worker actor of capacity D,
// which answers each with a RESULT; both are minimal peers (no sockets, no JSON: frames are made
// up front). All three actors run on runtime::io_scheduler, as in the node. The figure is wall
// time per RUN+RESULT pair: the Switchboard's two messages in, its two deliveries out, and the
// two peers' handling of them.
//
// Run: build/tests/switchboard_bench [TASKS [DEPTH]]   (defaults 1000000 and 64)

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/actors/switchboard.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "rcbroker/runtime/io_scheduler.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <caf/all.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <spdlog/spdlog.h>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace rcbroker;
using namespace rcbroker::actors;

namespace {

/// The frames of every task, made before the clock starts.
struct workload {
  std::vector<cookie> cookies;
  std::vector<frame> runs;
  std::vector<frame> results;
  std::unordered_map<const char*, std::size_t> index_of_run; // RUN payload -> task
};

std::shared_ptr<workload> make_workload(std::size_t distinct) {
  auto w = std::make_shared<workload>();
  for (std::size_t i = 0; i < distinct; ++i) {
    cookie c;
    for (std::size_t b = 0; b < 8; ++b)
      c.bytes[b] = static_cast<std::uint8_t>(i >> (8 * b));
    c.bytes[15] = 0x42;
    w->cookies.push_back(c);
    w->runs.push_back(protocol::make_run(c, "echo", R"({"x": 1})", false));
    w->results.push_back(
        protocol::make_result(c, protocol::result_code::ok, std::string{R"({"x": 1})"}));
    w->index_of_run.emplace(w->runs.back().payload().data(), i);
  }
  return w;
}

peer_actor::behavior_type worker(peer_actor::pointer self, switchboard_actor sb,
                                 std::shared_ptr<workload> w, std::uint32_t capacity) {
  self->send(sb, join_atom::value, peer_role::worker);
  self->send(sb, register_atom::value, capacity);
  auto answer = [self, sb, w](const frame& run) {
    auto i = w->index_of_run.at(run.payload().data());
    self->send(sb, result_atom::value, w->cookies[i], protocol::result_code::ok, w->results[i]);
  };
  return {[answer](deliver_atom, const frame& run) { answer(run); },
          [answer](deliver_atom, const std::vector<frame>& runs) {
            for (auto& run : runs)
              answer(run);
          }};
}

struct client_state {
  std::size_t sent = 0;
  std::size_t done = 0;
  std::size_t total = 0;
  std::shared_ptr<std::promise<void>> finished;
};

using client_actor = peer_actor::extend<caf::reacts_to<caf::atom_constant<caf::atom("go")>>>;

client_actor::behavior_type client(client_actor::stateful_pointer<client_state> self,
                                   switchboard_actor sb, std::shared_ptr<workload> w,
                                   std::size_t total, std::size_t depth,
                                   std::shared_ptr<std::promise<void>> finished) {
  self->state.total = total;
  self->state.finished = finished;
  self->send(sb, join_atom::value, peer_role::client);
  auto send_next = [self, sb, w] {
    auto i = self->state.sent++ % w->runs.size();
    self->send(sb, run_atom::value, w->cookies[i], false, w->runs[i]);
  };
  auto on_result = [self, send_next] {
    auto& st = self->state;
    if (++st.done == st.total) {
      st.finished->set_value();
      return;
    }
    if (st.sent < st.total)
      send_next();
  };
  return {[send_next, depth](caf::atom_constant<caf::atom("go")>) {
            for (std::size_t i = 0; i < depth; ++i)
              send_next();
          },
          [on_result](deliver_atom, const frame&) { on_result(); },
          [on_result](deliver_atom, const std::vector<frame>& results) {
            for (std::size_t i = 0; i < results.size(); ++i)
              on_result();
          }};
}

} // namespace

int main(int argc, char** argv) {
  std::size_t tasks = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  std::size_t depth = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;
  if (tasks == 0 || depth == 0 || depth > 100000) {
    std::fprintf(stderr,
                 "usage: switchboard_bench [TASKS [DEPTH]] (TASKS > 0, 0 < DEPTH <= 1e5)\n");
    return 64;
  }
  spdlog::set_level(spdlog::level::warn); // joins and departures are not the figure
  boost::asio::io_context ioc{1};
  auto work = boost::asio::make_work_guard(ioc);
  std::thread io{[&] { ioc.run(); }};
  {
    caf::actor_system_config cfg;
    runtime::io_scheduler::install(cfg, ioc);
    caf::actor_system sys{cfg};
    auto sb = spawn_switchboard(sys, switchboard_config{});
    // Cookies stay distinct among the tasks in flight: DEPTH*4 of them are reused round robin.
    auto w = make_workload(depth * 4);
    auto wk = sys.spawn(worker, sb, w, static_cast<std::uint32_t>(depth));
    for (std::size_t round = 0; round < 3; ++round) {
      auto n = round == 0 ? std::min<std::size_t>(tasks, 10000) : tasks; // round 0 warms up
      auto finished = std::make_shared<std::promise<void>>();
      auto done = finished->get_future();
      auto cl = sys.spawn(client, sb, w, n, depth, finished);
      std::this_thread::sleep_for(std::chrono::milliseconds{50}); // joins and REGISTER first
      auto start = std::chrono::steady_clock::now();
      caf::anon_send(cl, caf::atom_constant<caf::atom("go")>::value);
      done.wait();
      auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
                    .count();
      if (round > 0)
        std::printf("switchboard: %zu tasks, depth %zu: %.0f ns per RUN+RESULT (%.0f tasks/s)\n", n,
                    depth, ns / static_cast<double>(n), 1e9 * static_cast<double>(n) / ns);
      caf::anon_send_exit(cl, caf::exit_reason::user_shutdown);
    }
    caf::anon_send_exit(wk, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sb, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
  }
  work.reset();
  ioc.stop();
  io.join();
  return 0;
}

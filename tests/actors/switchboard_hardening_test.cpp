// What the Switchboard bounds against a hostile peer: one CANCEL per task reaches its worker,
// a worker's capacity has a ceiling, tasks have deadlines, and the clients of one host share
// max-runs-per-address.

#include "switchboard_fixture.hpp"

#include <chrono>

namespace rcbroker::actors {
namespace {

using namespace std::chrono_literals;
using namespace sbtest;

/// A RUN as a socket connection passes it on, with its `timeout` read (0: none).
routed_packet routed_run(const cookie& c, std::uint32_t timeout_ms) {
  return {packet_type::run, c, false, false, result_code::ok, run_frame(c), timeout_ms};
}

// -- CANCEL once ----------------------------------------------------------------------------------

TEST_F(SwitchboardTest, OnlyTheFirstCancelOfATaskReachesItsWorker) {
  switchboard_config config;
  config.cancel_grace = 5s;
  start(config);
  auto w = worker(2);
  auto c = client();
  run(c, cookie_n(1));
  w.take();
  for (int i = 0; i < 64; ++i)
    cancel(c, cookie_n(1));
  EXPECT_EQ(w.take().size(), 1u) << "63 repeats must not reach the worker";
  EXPECT_TRUE(c.take().empty()) << "repeats are dropped, not answered";
  EXPECT_EQ(snapshot().traffic.cancels_dropped, 63u);
  // The task still ends as a cancelled one does: the grace answers the client once.
  advance(5s);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::exception, "Cancelled"));
  // After the grace, a CANCEL for it is one for a task the client has had its answer to.
  cancel(c, cookie_n(1));
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::cookie_not_found, "No such cookie"));
  EXPECT_TRUE(w.take().empty());
}

TEST_F(SwitchboardTest, ANewTaskWithTheSameCookieCanBeCancelledAgain) {
  start();
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  cancel(c, cookie_n(1));
  result(w, cookie_n(1), "stopped");
  w.take();
  c.take();
  run(c, cookie_n(1));
  w.take();
  cancel(c, cookie_n(1));
  EXPECT_EQ(w.take().size(), 1u) << "the CANCEL of the second task is its first";
}

// -- max-worker-capacity --------------------------------------------------------------------------

TEST_F(SwitchboardTest, ARegisterOverTheMaxWorkerCapacityAddsNoSlotsAndGetsBadPacket) {
  switchboard_config config;
  config.max_worker_capacity = 100;
  start(config);
  auto greedy = join(peer_role::worker);
  register_slots(greedy, 4294967295u);
  auto got = greedy.take();
  ASSERT_EQ(got.size(), 1u);
  auto read = protocol::read_packet(got[0]);
  EXPECT_EQ(read.fields.type, packet_type::result);
  EXPECT_FALSE(read.fields.cookie.has_value());
  EXPECT_NE(got[0].payload().find("BAD_PACKET"), std::string_view::npos);
  EXPECT_NE(got[0].payload().find("max-worker-capacity 100"), std::string_view::npos);
  EXPECT_EQ(status().registered_slots, 0u);
  // Up to the ceiling is fine; a second REGISTER counts with the first.
  register_slots(greedy, 60);
  register_slots(greedy, 40);
  EXPECT_TRUE(greedy.take().empty());
  register_slots(greedy, 1);
  EXPECT_EQ(greedy.take().size(), 1u);
  auto s = status();
  EXPECT_EQ(s.registered_slots, 100u);
  EXPECT_EQ(s.free_slots, 100u);
  EXPECT_EQ(snapshot().traffic.registers_refused, 2u);
}

// -- task deadlines -------------------------------------------------------------------------------

TEST_F(SwitchboardTest, ATaskPastMaxTaskDurationIsAnsweredAndItsSlotWaitsForTheWorker) {
  switchboard_config config;
  config.max_task_duration = 10s;
  start(config);
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  w.take();
  advance(9s);
  EXPECT_TRUE(c.take().empty());
  advance(1s);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::exception,
                        "Timed out: no RESULT within 10000 ms"));
  auto s = status();
  EXPECT_EQ(s.routes, 1u) << "the route waits for the worker";
  EXPECT_EQ(s.free_slots, 0u) << "only the worker knows when its slot is free";
  // The worker's late answer frees the slot and is not forwarded: the client has its answer.
  result(w, cookie_n(1), "late");
  EXPECT_TRUE(c.take().empty());
  s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.free_slots, 1u);
  EXPECT_EQ(snapshot().traffic.tasks_timed_out, 1u);
}

TEST_F(SwitchboardTest, ATaskAnsweredInTimeLeavesNoDeadlineBehind) {
  switchboard_config config;
  config.max_task_duration = 10s;
  start(config);
  auto w = worker(1);
  auto c = client();
  for (std::uint8_t i = 1; i <= 100; ++i) {
    run(c, cookie_n(i));
    result(w, cookie_n(i));
  }
  EXPECT_EQ(c.take().size(), 100u);
  advance(11s);
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(snapshot().traffic.tasks_timed_out, 0u);
}

TEST_F(SwitchboardTest, ARunsTimeoutShortensTheDeadlineButNeverLengthensIt) {
  switchboard_config config;
  config.max_task_duration = 10s;
  start(config);
  auto w = worker(2);
  auto c = client();
  packets(c, {routed_run(cookie_n(1), 2000), routed_run(cookie_n(2), 60000)});
  EXPECT_EQ(w.take().size(), 2u);
  advance(2s);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(cookie_of(got[0]), cookie_n(1));
  advance(8s);
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(cookie_of(got[0]), cookie_n(2)) << "max-task-duration caps a longer timeout";
}

TEST_F(SwitchboardTest, ARunsTimeoutAppliesWithoutMaxTaskDuration) {
  start();
  auto w = worker(1);
  auto c = client();
  packets(c, {routed_run(cookie_n(1), 1500)});
  advance(1s);
  EXPECT_TRUE(c.take().empty());
  advance(500ms);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::exception,
                        "Timed out: no RESULT within 1500 ms"));
}

TEST_F(SwitchboardTest, AQueuedRunPastItsDeadlineLeavesTheQueue) {
  switchboard_config config;
  config.queue_limit = 10;
  start(config);
  auto w = worker(1);
  auto c = client();
  packets(c, {routed_run(cookie_n(1), 0), routed_run(cookie_n(2), 1000)});
  EXPECT_EQ(status().queued, 1u);
  advance(1s);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(cookie_of(got[0]), cookie_n(2));
  auto s = status();
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.routes, 1u);
  // The slot, once free, does not go to the RUN that timed out.
  w.take();
  result(w, cookie_n(1));
  EXPECT_TRUE(w.take().empty());
  EXPECT_EQ(status().free_slots, 1u);
}

// -- max-runs-per-address -------------------------------------------------------------------------

TEST_F(SwitchboardTest, TheClientsOfOneHostShareMaxRunsPerAddress) {
  switchboard_config config;
  config.max_runs_per_address = 3;
  start(config);
  auto w = worker(100);
  auto a = client_from("10.0.0.1");
  auto b = client_from("10.0.0.1");
  auto other = client_from("10.0.0.2");
  run(a, cookie_n(1));
  run(b, cookie_n(2));
  run(a, cookie_n(3));
  EXPECT_TRUE(a.take().empty());
  run(b, cookie_n(4));
  auto got = b.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(4), result_code::no_capacity,
                        "Too many runs in flight from this address (max-runs-per-address 3)"));
  run(other, cookie_n(5));
  EXPECT_TRUE(other.take().empty()) << "another host has its own budget";
  // A task ending, and a client of the host going away, make room.
  result(w, cookie_n(1));
  a.take();
  run(b, cookie_n(6));
  EXPECT_TRUE(b.take().empty());
  kill(a);
  run(b, cookie_n(7));
  EXPECT_TRUE(b.take().empty()) << "the orphaned task of a client gone no longer counts";
}

TEST_F(SwitchboardTest, ClientsWithoutAHostAreNotHeldToMaxRunsPerAddress) {
  switchboard_config config;
  config.max_runs_per_address = 1;
  start(config);
  auto w = worker(10);
  auto c = client(); // an actor client: no socket, no host
  run(c, cookie_n(1));
  run(c, cookie_n(2));
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(w.take().size(), 2u);
}

} // namespace
} // namespace rcbroker::actors

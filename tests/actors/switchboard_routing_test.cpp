// The Switchboard's routing extensions (issue 14), message by message on the test coordinator:
// PROGRESS packets, queue priorities, and workers that serve only some pipelines.

#include "switchboard_fixture.hpp"

#include <string>
#include <tuple>
#include <vector>

namespace rcbroker::actors {
namespace {

using namespace sbtest;

/// A RUN as an extended client writes it, routed as a connection passes it on.
routed_packet run_packet(const cookie& c, const std::string& pipeline, std::int64_t priority = 0,
                         bool progress = false) {
  routed_packet p{packet_type::run,
                  c,
                  false,
                  false,
                  {},
                  frame{R"({"packet_type":"RUN","cookie":")" + c.to_string() + R"(","pipeline":")" +
                        pipeline + R"(","variables":"{}","priority":)" + std::to_string(priority) +
                        R"(,"progress":)" + (progress ? "true" : "false") + "}"}};
  p.priority = priority;
  p.progress = progress;
  p.pipeline = pipeline;
  return p;
}

/// A worker's PROGRESS frame, routed as its connection passes it on.
routed_packet progress_packet(const cookie& c, const std::string& tag) {
  return {packet_type::progress,
          c,
          false,
          false,
          {},
          frame{R"({"packet_type":"PROGRESS","cookie":")" + c.to_string() + R"(","result":"\")" +
                tag + R"(\""})"}};
}

class SwitchboardRoutingTest : public SwitchboardTest {
protected:
  /// A worker with `capacity` slots that serves only `pipelines`.
  fake_peer worker_for(std::uint32_t capacity, std::vector<std::string> pipelines) {
    auto peer = join(peer_role::worker);
    caf::send_as(peer.handle, sb_, register_atom::value, capacity, std::move(pipelines));
    sched_.run();
    return peer;
  }

  void send_run(const fake_peer& client, const cookie& c, const std::string& pipeline,
                std::int64_t priority = 0, bool progress = false) {
    packets(client, {run_packet(c, pipeline, priority, progress)});
  }

  /// The Switchboard with defaults, two workers of one slot each (in this order) and a client.
  std::tuple<fake_peer, fake_peer, fake_peer> two_workers_and_a_client() {
    start();
    auto w1 = worker(1);
    auto w2 = worker(1);
    return {w1, w2, client()};
  }

  /// Sends a RUN of "echo" that asks for `retries` retries on worker loss.
  void send_retrying_run(const fake_peer& client, const cookie& c, std::int32_t retries) {
    auto p = run_packet(c, "echo");
    p.retries = retries;
    packets(client, {p});
  }

  /// The cookies of the frames `peer` got since the last look.
  static std::vector<cookie> cookies(fake_peer& peer) {
    std::vector<cookie> out;
    for (auto& f : peer.take())
      out.push_back(cookie_of(f));
    return out;
  }
};

// -- PROGRESS -----------------------------------------------------------------------------------

TEST_F(SwitchboardRoutingTest, ProgressGoesOnlyToAnOptedInClientAndNeverFreesTheSlot) {
  start();
  auto w = worker(2);
  auto asks = client();
  auto plain = client();
  send_run(asks, cookie_n(1), "echo", 0, true);
  send_run(plain, cookie_n(2), "echo");
  w.take();
  auto p1 = progress_packet(cookie_n(1), "tok1");
  auto p2 = progress_packet(cookie_n(2), "tok2");
  packets(w, {p1, p2, progress_packet(cookie_n(1), "tok3")});
  auto got = asks.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload(), p1.bytes.payload());
  EXPECT_TRUE(plain.take().empty()) << "a client that did not ask never sees a PROGRESS";
  auto s = status();
  EXPECT_EQ(s.routes, 2u);
  EXPECT_EQ(s.free_slots, 0u) << "PROGRESS never frees the slot";
  EXPECT_EQ(s.results_dropped, 0u);
  auto r = result(w, cookie_n(1));
  got = asks.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), r.payload());
  EXPECT_EQ(status().free_slots, 1u);
}

TEST_F(SwitchboardRoutingTest, ProgressForAnUnknownCookieOrAnotherWorkersRouteIsDropped) {
  auto [w1, w2, c] = two_workers_and_a_client();
  send_run(c, cookie_n(1), "echo", 0, true);
  packets(w2, {progress_packet(cookie_n(1), "not yours"), progress_packet(cookie_n(9), "x")});
  EXPECT_TRUE(c.take().empty());
  auto s = status();
  EXPECT_EQ(s.results_dropped, 2u);
  EXPECT_EQ(s.routes, 1u);
  // A client may not send one.
  packets(c, {progress_packet(cookie_n(1), "from a client")});
  EXPECT_TRUE(w1.take().size() == 1u); // only the RUN
  EXPECT_EQ(status().messages_rejected, 1u);
}

TEST_F(SwitchboardRoutingTest, ProgressAfterTheClientWasAnsweredIsDropped) {
  start(switchboard_config{std::chrono::milliseconds{100}});
  auto w = worker(1);
  auto c = client();
  send_run(c, cookie_n(1), "echo", 0, true);
  cancel(c, cookie_n(1));
  advance(std::chrono::milliseconds{150});
  c.take(); // Cancelled
  packets(w, {progress_packet(cookie_n(1), "late")});
  EXPECT_TRUE(c.take().empty());
}

// -- priorities ---------------------------------------------------------------------------------

TEST_F(SwitchboardRoutingTest, QueuedRunsStartByPriorityThenFairlyAcrossClients) {
  switchboard_config cfg;
  cfg.queue_limit = 10;
  start(cfg);
  auto w = worker(1);
  auto a = client();
  auto b = client();
  send_run(a, cookie_n(1), "echo"); // runs at once
  w.take();
  send_run(a, cookie_n(2), "echo");
  send_run(a, cookie_n(3), "echo");
  send_run(b, cookie_n(4), "echo");
  send_run(a, cookie_n(5), "echo", 5);
  send_run(b, cookie_n(6), "echo", 5);
  send_run(a, cookie_n(7), "echo", 5);
  send_run(b, cookie_n(8), "echo", -1);
  EXPECT_EQ(status().queued, 7u);
  std::vector<cookie> order;
  auto running = cookie_n(1);
  for (int i = 0; i < 7; ++i) {
    result(w, running);
    auto got = cookies(w);
    ASSERT_EQ(got.size(), 1u);
    running = got[0];
    order.push_back(running);
  }
  EXPECT_EQ(order, (std::vector<cookie>{cookie_n(5), cookie_n(6), cookie_n(7), cookie_n(2),
                                        cookie_n(4), cookie_n(3), cookie_n(8)}));
}

TEST_F(SwitchboardRoutingTest, CancelOfAQueuedRunOfAPriorityLeavesTheQueue) {
  switchboard_config cfg;
  cfg.queue_limit = 10;
  start(cfg);
  auto w = worker(1);
  auto a = client();
  send_run(a, cookie_n(1), "echo");
  send_run(a, cookie_n(2), "echo", 3);
  send_run(a, cookie_n(3), "echo", 3);
  cancel(a, cookie_n(2));
  auto got = a.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::exception, "Cancelled"));
  EXPECT_EQ(status().queued, 1u);
  w.take();
  result(w, cookie_n(1));
  EXPECT_EQ(cookies(w), std::vector<cookie>{cookie_n(3)});
}

// -- pipelines ----------------------------------------------------------------------------------

TEST_F(SwitchboardRoutingTest, EveryRunLandsOnAWorkerThatServesItsPipeline) {
  start();
  auto wa = worker_for(2, {"alpha"});
  auto wb = worker_for(2, {"beta", "gamma"});
  auto c = client();
  send_run(c, cookie_n(1), "beta");
  send_run(c, cookie_n(2), "alpha");
  send_run(c, cookie_n(3), "gamma");
  send_run(c, cookie_n(4), "alpha");
  EXPECT_EQ(cookies(wa), (std::vector<cookie>{cookie_n(2), cookie_n(4)}));
  EXPECT_EQ(cookies(wb), (std::vector<cookie>{cookie_n(1), cookie_n(3)}));
  // Free slots of other workers do not serve it.
  send_run(c, cookie_n(5), "alpha");
  send_run(c, cookie_n(6), "delta");
  auto got = c.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(is_result(got[0], cookie_n(5), result_code::no_capacity,
                        "No capacity available for pipeline 'alpha'"));
  EXPECT_TRUE(is_result(got[1], cookie_n(6), result_code::no_capacity,
                        "No capacity available for pipeline 'delta'"));
  EXPECT_EQ(status().free_slots, 0u);
}

TEST_F(SwitchboardRoutingTest, AWorkerWithoutPipelinesServesEveryOne) {
  start();
  auto wa = worker_for(1, {"alpha"});
  auto any = worker(1);
  auto c = client();
  // An actor client's RUN (frame only): its pipeline is read from the frame.
  run(c, cookie_n(1)); // "echo"
  EXPECT_EQ(cookies(any), std::vector<cookie>{cookie_n(1)});
  EXPECT_TRUE(wa.take().empty());
}

TEST_F(SwitchboardRoutingTest, AQueueHeadNobodyCanServeDoesNotBlockOthers) {
  switchboard_config cfg;
  cfg.queue_limit = 10;
  start(cfg);
  auto wa = worker_for(1, {"alpha"});
  auto c = client();
  send_run(c, cookie_n(1), "alpha");
  send_run(c, cookie_n(2), "nobody", 9); // queued, highest priority, never servable here
  send_run(c, cookie_n(3), "alpha");
  EXPECT_EQ(status().queued, 2u);
  wa.take();
  result(wa, cookie_n(1));
  EXPECT_EQ(cookies(wa), std::vector<cookie>{cookie_n(3)});
  EXPECT_EQ(status().queued, 1u);
  // A worker for it arrives: the waiting RUN goes there.
  auto wn = worker_for(1, {"nobody"});
  EXPECT_EQ(cookies(wn), std::vector<cookie>{cookie_n(2)});
  EXPECT_EQ(status().queued, 0u);
}

TEST_F(SwitchboardRoutingTest, AWorkerLeavingUnrestrictsTheNode) {
  start();
  auto wa = worker_for(1, {"alpha"});
  kill(wa);
  auto any = worker(1);
  auto c = client();
  send_run(c, cookie_n(1), "whatever");
  EXPECT_EQ(cookies(any), std::vector<cookie>{cookie_n(1)});
  send_run(c, cookie_n(2), "whatever");
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::no_capacity, "No capacity available"))
      << "with no restricted worker left, the original's text";
}

// -- retries on worker loss ---------------------------------------------------------------------

TEST_F(SwitchboardRoutingTest, ARetryAfterWorkerLossLandsOnAnotherWorkerWithTheSameCookie) {
  auto [w1, w2, c] = two_workers_and_a_client();
  send_retrying_run(c, cookie_n(1), 1);
  auto first = w1.take();
  ASSERT_EQ(first.size(), 1u);
  kill(w1);
  EXPECT_TRUE(c.take().empty()) << "no WORKER_WENT_AWAY while a retry is left";
  auto again = w2.take();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].payload(), first[0].payload()) << "the same RUN, same cookie";
  result(w2, cookie_n(1), "ok");
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  auto read = protocol::read_packet(got[0]);
  ASSERT_TRUE(read.ok()) << read.error;
  EXPECT_EQ(read.fields.cookie, cookie_n(1));
  EXPECT_EQ(read.fields.rc, result_code::ok);
  EXPECT_NE(got[0].payload().find(R"("attempts":2})"), std::string_view::npos) << got[0].payload();
}

TEST_F(SwitchboardRoutingTest, RetriesRunOutIntoWorkerWentAway) {
  auto [w1, w2, c] = two_workers_and_a_client();
  send_retrying_run(c, cookie_n(1), 1);
  kill(w1);
  kill(w2);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::worker_went_away,
                        "The worker connection went away"));
  EXPECT_EQ(status().routes, 0u);
}

TEST_F(SwitchboardRoutingTest, NoRetryAfterCancel) {
  auto [w1, w2, c] = two_workers_and_a_client();
  send_retrying_run(c, cookie_n(1), 3);
  cancel(c, cookie_n(1));
  kill(w1);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::worker_went_away,
                        "The worker connection went away"));
  EXPECT_TRUE(w2.take().empty());
}

TEST_F(SwitchboardRoutingTest, TheNodeDefaultRetriesWithoutReportingAttempts) {
  switchboard_config cfg;
  cfg.queue_limit = 4;
  cfg.retries_on_worker_loss = 1;
  start(cfg);
  auto w1 = worker(1);
  auto c = client();
  run(c, cookie_n(1)); // an original RUN: no retries field
  send_run(c, cookie_n(2), "echo", 9);
  kill(w1);
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(status().queued, 2u) << "no slot left: it waits, ahead of its priority's RUNs";
  auto w2 = worker(1);
  EXPECT_EQ(cookies(w2), std::vector<cookie>{cookie_n(2)}) << "a higher priority still first";
  auto r = result(w2, cookie_n(2));
  EXPECT_EQ(cookies(w2), std::vector<cookie>{cookie_n(1)});
  auto done = result(w2, cookie_n(1));
  auto got = c.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].payload(), done.payload()) << "unchanged: the client did not ask for retries";
}

} // namespace
} // namespace rcbroker::actors

// The public actor test harness (rcbroker/testing) itself: each scripted behaviour of its
// workers and clients, and virtual time, asserted through the harness alone.

#include "rcbroker/testing/harness.hpp"

#include <chrono>
#include <gtest/gtest.h>

using namespace std::chrono_literals;
using rcbroker::actors::switchboard_config;
using rcbroker::protocol::result_code;
namespace rt = rcbroker::testing;

namespace {

rt::run_options variables(std::string json) {
  rt::run_options o;
  o.variables = std::move(json);
  return o;
}

TEST(HarnessTest, AWorkerAnswersAndTheClientReadsTheResult) {
  rt::harness h;
  auto worker = h.worker(2); // echoes the variables
  auto client = h.client();
  auto id = client.run(variables(R"({"x": 1})"));
  auto result = client.result_for(id);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->rc, result_code::ok);
  EXPECT_EQ(result->result, R"({"x": 1})");
  ASSERT_EQ(worker.runs().size(), 1u);
  EXPECT_EQ(worker.runs()[0].id, id);
  EXPECT_EQ(worker.runs()[0].pipeline, "echo");
  auto snapshot = h.snapshot();
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->results_forwarded, 1u);
  EXPECT_EQ(snapshot->free_slots, 2u);
  EXPECT_EQ(snapshot->routes, 0u);
}

TEST(HarnessTest, CookiesAreNumberedTheSameEveryRun) {
  rt::harness h;
  h.worker(1);
  auto client = h.client();
  auto first = client.run();
  auto second = client.run();
  EXPECT_EQ(first.to_string(), "00000000-0000-0000-0000-000000000001");
  EXPECT_EQ(second.to_string(), "00000000-0000-0000-0000-000000000002");
  EXPECT_EQ(client.results().size(), 2u);
}

TEST(HarnessTest, AFailingWorkerSendsItsRcErrorAndTrace) {
  rt::harness h;
  h.worker(1, rt::in_order(
                  {rt::worker_step::fail(result_code::processor_exception, "boom", {"at step 1"}),
                   rt::worker_step::fail(result_code::exception, "no such pipeline")}));
  auto client = h.client();
  auto first = client.run();
  auto second = client.run();
  auto r1 = client.result_for(first);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->rc, result_code::processor_exception);
  EXPECT_EQ(r1->error, "boom");
  EXPECT_EQ(r1->stacktrace, std::vector<std::string>{"at step 1"});
  EXPECT_FALSE(r1->result);
  auto r2 = client.result_for(second);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->rc, result_code::exception);
  EXPECT_EQ(r2->error, "no such pipeline");
  auto snapshot = h.snapshot();
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(
      snapshot->traffic.worker_results[static_cast<std::size_t>(result_code::processor_exception)],
      1u);
}

TEST(HarnessTest, AHungTaskHoldsItsSlotUntilCancelled) {
  rt::harness h;
  auto worker = h.worker(1, rt::always(rt::worker_step::hang_until_cancelled()));
  auto client = h.client();
  auto id = client.run();
  EXPECT_TRUE(client.frames().empty());
  EXPECT_EQ(h.status()->free_slots, 0u);
  client.cancel(id);
  ASSERT_EQ(worker.cancels().size(), 1u);
  EXPECT_EQ(worker.cancels()[0], id);
  auto result = client.result_for(id);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->rc, result_code::exception);
  EXPECT_EQ(result->error, "Cancelled");
  EXPECT_EQ(h.status()->free_slots, 1u);
}

TEST(HarnessTest, AHungTaskCanBeAnsweredByTheTest) {
  rt::harness h;
  auto worker = h.worker(1, rt::always(rt::worker_step::hang()));
  auto client = h.client();
  auto id = client.run();
  EXPECT_FALSE(client.result_for(id));
  worker.respond(id, rt::worker_step::answer(R"("now")"));
  auto result = client.result_for(id);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->result, R"("now")");
}

TEST(HarnessTest, AWorkerThatDiesLeavesItsClientsWorkerWentAway) {
  rt::harness h;
  auto worker = h.worker(2, rt::in_order({rt::worker_step::hang(), rt::worker_step::die()}));
  auto client = h.client();
  auto hung = client.run();
  auto fatal = client.run();
  EXPECT_FALSE(worker.alive());
  for (auto id : {hung, fatal}) {
    auto result = client.result_for(id);
    ASSERT_TRUE(result) << id.to_string();
    EXPECT_EQ(result->rc, result_code::worker_went_away);
  }
  auto snapshot = h.snapshot();
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->workers, 0u);
  EXPECT_EQ(snapshot->registered_slots, 0u);
  EXPECT_EQ(snapshot->routes, 0u);
}

TEST(HarnessTest, KillingAWorkerFromTheTestEndsItsTasks) {
  rt::harness h;
  auto worker = h.worker(1, rt::always(rt::worker_step::hang()));
  auto client = h.client();
  auto id = client.run();
  worker.die();
  auto result = client.result_for(id);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->rc, result_code::worker_went_away);
}

TEST(HarnessTest, ALateAnswerComesWhenVirtualTimeReachesIt) {
  rt::harness h;
  h.worker(1, rt::always(rt::worker_step::answer(R"("late")").after(3s)));
  auto client = h.client();
  auto id = client.run();
  h.advance_time(2s);
  EXPECT_FALSE(client.result_for(id));
  EXPECT_EQ(h.status()->routes, 1u);
  EXPECT_EQ(h.advance_time(1s), 1u) << "the late RESULT is the one timeout due";
  auto result = client.result_for(id);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->result, R"("late")");
  EXPECT_EQ(h.status()->routes, 0u);
}

TEST(HarnessTest, CancelGraceAnswersTheClientWhenTheWorkerIgnoresTheCancel) {
  switchboard_config config;
  config.cancel_grace = 5s;
  rt::harness h{config};
  auto worker = h.worker(1, rt::always(rt::worker_step::hang()));
  auto client = h.client();
  auto id = client.run();
  client.cancel(id);
  EXPECT_EQ(worker.cancels().size(), 1u);
  h.advance_time(4s);
  EXPECT_FALSE(client.result_for(id)) << "still within the grace";
  h.advance_time(1s);
  auto result = client.result_for(id);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->rc, result_code::exception);
  EXPECT_EQ(result->error, "Cancelled");
}

TEST(HarnessTest, ATaskPastItsDeadlineIsAnsweredForItsClient) {
  switchboard_config config;
  config.max_task_duration = 10s;
  rt::harness h{config};
  h.worker(2, rt::always(rt::worker_step::hang()));
  auto client = h.client();
  auto long_task = client.run();
  rt::run_options hurried;
  hurried.timeout = 2s; // the RUN's own deadline, shorter than max-task-duration
  auto short_task = client.run(hurried);
  h.advance_time(2s);
  auto early = client.result_for(short_task);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->rc, result_code::exception);
  EXPECT_EQ(early->error.value_or("").rfind("Timed out", 0), 0u) << early->error.value_or("");
  EXPECT_FALSE(client.result_for(long_task));
  h.advance_time(8s);
  ASSERT_TRUE(client.result_for(long_task));
  auto snapshot = h.snapshot();
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->traffic.tasks_timed_out, 2u);
}

TEST(HarnessTest, ShutdownReachesTheWorkerAndTheClient) {
  rt::harness h;
  auto worker = h.worker(1, rt::always(rt::worker_step::hang()));
  auto client = h.client();
  auto id = client.run();
  bool replied = false;
  EXPECT_TRUE(h.shutdown([&] { replied = true; }));
  EXPECT_TRUE(replied);
  EXPECT_TRUE(worker.got_shutdown());
  EXPECT_FALSE(worker.alive());
  auto result = client.result_for(id);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->rc, result_code::broker_went_away);
  EXPECT_EQ(h.status()->routes, 0u);
}

TEST(HarnessTest, ADisconnectedClientsTaskIsCancelledWithCancelOrphans) {
  switchboard_config config;
  config.cancel_orphans = true;
  rt::harness h{config};
  auto worker = h.worker(1, rt::always(rt::worker_step::hang()));
  auto client = h.client();
  auto id = client.run();
  client.disconnect();
  ASSERT_EQ(worker.cancels().size(), 1u);
  EXPECT_EQ(worker.cancels()[0], id);
}

} // namespace

namespace {

// The sample of README.md ("Testing with the actor harness"), kept compiling and true.
TEST(HarnessTest, TheReadmeSampleHolds) {
  rcbroker::actors::switchboard_config config;
  config.cancel_grace = std::chrono::seconds{5};
  rt::harness h{config};
  auto worker =
      h.worker(1, rt::in_order({rt::worker_step::answer(R"("done")"), rt::worker_step::hang()}));
  auto client = h.client();
  auto first = client.run();
  ASSERT_TRUE(client.result_for(first));
  EXPECT_EQ(client.result_for(first)->result, R"("done")");
  auto second = client.run();
  client.cancel(second);
  h.advance_time(std::chrono::seconds{5});
  ASSERT_TRUE(client.result_for(second));
  EXPECT_EQ(client.result_for(second)->rc, result_code::exception);
  EXPECT_EQ(h.snapshot()->free_slots, 0u) << "the slot stays the worker's until it answers";
}

} // namespace

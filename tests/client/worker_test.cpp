// The worker library: capacity, SHUTDOWN, stop(), and what it writes and does when a broker
// (played by the test) sends RUN, CANCEL, garbage, or goes away.

#include "eventually.hpp"
#include "fake_broker.hpp"
#include "raw_peer.hpp"
#include "rcbroker/client/client.hpp"
#include "rcbroker/client/worker.hpp"
#include "test_node.hpp"

#include <algorithm>
#include <atomic>
#include <future>
#include <gtest/gtest.h>
#include <thread>

using namespace rcbroker::client;
using rcbroker::protocol::result_code;
using rcbroker::test_support::fake_broker;
using rcbroker::test_support::field;
using rcbroker::test_support::new_cookie;
using rcbroker::test_support::original_register;
using rcbroker::test_support::original_result;
using rcbroker::test_support::original_run;
using rcbroker::test_support::progress_packet;
using rcbroker::test_support::raw_peer;
using rcbroker::test_support::test_node;
using namespace std::chrono_literals;

using rcbroker::test_support::eventually;

namespace {

worker_options options_for(const std::string& url, std::int64_t capacity = 1) {
  worker_options options;
  options.endpoint = url;
  options.capacity = capacity;
  options.first_retry = 20ms;
  options.max_retry = 200ms;
  return options;
}

std::string wait_for_cancel(task_context& t) {
  t.wait_for_cancel(10s);
  t.throw_if_cancelled();
  return "\"not cancelled\"";
}

// Waits for the worker to stop, failing (not hanging) when it takes longer than `limit`.
std::optional<stop_reason> stopped_within(worker& w, std::chrono::milliseconds limit) {
  auto stopped = std::async(std::launch::async, [&] { return w.wait(); });
  if (stopped.wait_for(limit) != std::future_status::ready)
    return std::nullopt;
  return stopped.get();
}

// Starts `w` and accepts its connection at `broker`, REGISTER read; nullopt when none came.
std::optional<raw_peer> registered(fake_broker& broker, worker& w) {
  w.start();
  auto peer = broker.accept();
  if (peer && !peer->receive())
    return std::nullopt;
  return peer;
}

// The first packet a worker with `options` sends (its endpoint set here): its REGISTER.
std::optional<std::string> first_register(worker_options options) {
  fake_broker broker;
  options.endpoint = broker.url();
  worker w{options, wait_for_cancel};
  w.start();
  auto peer = broker.accept();
  return peer ? peer->receive() : std::nullopt;
}

} // namespace

TEST(Worker, RefusesBadOptions) {
  EXPECT_THROW(worker(options_for("tcp://127.0.0.1:1", 0), wait_for_cancel), std::invalid_argument);
  EXPECT_THROW(worker(options_for("udp://x"), wait_for_cancel), std::invalid_argument);
  EXPECT_THROW(worker(options_for("tcp://127.0.0.1:1"), nullptr), std::invalid_argument);
}

TEST(Worker, RunsAtMostItsCapacityAtOnce) {
  test_node node;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::promise<void> release;
  auto released = release.get_future().share();
  worker w{options_for(node.worker_tcp, 3), [&](task_context& t) {
             int now = ++running;
             int seen = most.load();
             while (now > seen && !most.compare_exchange_weak(seen, now)) {
             }
             released.wait_for(5s);
             --running;
             return t.variables();
           }};
  w.start();
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 3; }));
  client c{node.client_tcp};
  std::vector<std::future<task_result>> results;
  for (int i = 0; i < 3; ++i)
    results.push_back(c.run("echo", std::to_string(i)));
  ASSERT_TRUE(eventually([&] { return w.tasks_running() == 3; }));
  auto refused = c.run("echo", "3").get(); // all 3 slots are busy
  EXPECT_EQ(refused.rc, result_code::no_capacity);
  release.set_value();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(results[i].get().value(), std::to_string(i));
  EXPECT_EQ(most.load(), 3);
}

TEST(Worker, ShutdownStopsTheWorkerAndCancelsItsTasks) {
  test_node node;
  std::atomic<bool> task_saw_cancel{false};
  worker w{options_for(node.worker_unix), [&](task_context& t) -> std::string {
             task_saw_cancel = t.wait_for_cancel(10s);
             return "null";
           }};
  w.start();
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  client c{node.client_unix};
  auto open = c.run("slow", "{}");
  ASSERT_TRUE(eventually([&] { return w.tasks_running() == 1; }));
  node.shutdown();
  EXPECT_EQ(stopped_within(w, 5000ms), stop_reason::shutdown);
  EXPECT_TRUE(task_saw_cancel.load());
  EXPECT_EQ(w.tasks_running(), 0u);
  EXPECT_EQ(open.get().rc, result_code::broker_went_away);
}

TEST(Worker, StopFromAnotherThreadEndsRun) {
  test_node node;
  worker w{options_for(node.worker_tcp), wait_for_cancel};
  auto running = std::async(std::launch::async, [&] { return w.run(); });
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  std::thread stopper{[&] { w.stop(); }};
  stopper.join();
  ASSERT_EQ(running.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(running.get(), stop_reason::stopped);
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.workers == 0 && s.registered_slots == 0; }));
}

TEST(Worker, StopBeforeStartReturnsAtOnce) {
  worker w{options_for("tcp://127.0.0.1:1"), wait_for_cancel};
  w.stop();
  EXPECT_EQ(stopped_within(w, 2000ms), stop_reason::stopped);
  EXPECT_EQ(w.registrations(), 0u);
}

TEST(Worker, RegistersAndAnswersAsTheOriginalWorker) {
  fake_broker broker;
  worker w{options_for(broker.url(), 2), [](task_context& t) { return t.variables(); }};
  w.start();
  auto peer = broker.accept();
  ASSERT_TRUE(peer);
  EXPECT_EQ(peer->receive(), original_register(2));
  auto cookie = new_cookie();
  peer->send(original_run(cookie, "echo", R"({"v": [1, 2]})"));
  EXPECT_EQ(peer->receive(), original_result(cookie, R"({"v": [1, 2]})"));
  EXPECT_EQ(w.registrations(), 1u);
}

TEST(Worker, SendsItsTokenInRegister) {
  auto options = options_for("", 4);
  options.token = "let-me-in";
  auto expected = original_register(4);
  expected.pop_back();
  EXPECT_EQ(first_register(options), expected + R"(,"token":"let-me-in"})");
}

TEST(Worker, CancelEndsTheTaskWithExceptionCancelled) {
  fake_broker broker;
  worker w{options_for(broker.url()), wait_for_cancel};
  w.start();
  auto peer = broker.accept();
  ASSERT_TRUE(peer);
  ASSERT_TRUE(peer->receive()); // REGISTER
  auto cookie = new_cookie();
  peer->send(original_run(cookie, "slow", "{}"));
  ASSERT_TRUE(eventually([&] { return w.tasks_running() == 1; }));
  peer->send(rcbroker::test_support::original_cancel(cookie));
  auto answer = peer->receive();
  ASSERT_TRUE(answer);
  EXPECT_EQ(*answer,
            R"({"packet_type":"RESULT","cookie":")" + cookie +
                R"(","capacity":null,"pipeline":null,"variables":null,"detach":null,)"
                R"("rc":"EXCEPTION","error":"Cancelled","stacktrace":null,"result":null})");
  // A CANCEL for a task that does not run here changes nothing.
  peer->send(rcbroker::test_support::original_cancel(new_cookie()));
  EXPECT_FALSE(peer->receive(200));
}

TEST(Worker, BadPacketFromTheBrokerMakesItReconnectAndRegisterAgain) {
  fake_broker broker;
  std::atomic<bool> task_saw_cancel{false};
  worker w{options_for(broker.url()), [&](task_context& t) -> std::string {
             task_saw_cancel = t.wait_for_cancel(10s);
             return "null";
           }};
  w.start();
  auto first = broker.accept();
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->receive());
  first->send(original_run(new_cookie(), "slow", "{}"));
  ASSERT_TRUE(eventually([&] { return w.tasks_running() == 1; }));
  first->send(R"({"packet_type":"RUN","cookie":"not a uuid"})");
  EXPECT_TRUE(first->closed_by_peer());
  EXPECT_TRUE(eventually([&] { return task_saw_cancel.load(); }))
      << "tasks of a lost connection are cancelled";
  auto second = broker.accept();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->receive(), original_register(1));
  EXPECT_EQ(w.registrations(), 2u);
}

TEST(Worker, ARefusedRegisterStopsTheWorkerForGood) {
  fake_broker broker;
  worker w{options_for(broker.url()), wait_for_cancel};
  auto peer = registered(broker, w);
  ASSERT_TRUE(peer);
  // As a node with a worker token answers a REGISTER without it (docs/PROTOCOL.md).
  peer->send(
      R"({"packet_type":"RESULT","rc":"BAD_PACKET","error":"Missing or wrong worker token"})");
  EXPECT_EQ(stopped_within(w, 3s), stop_reason::failed);
  auto failure = w.failure();
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->what, connection_failure::kind::refused);
  EXPECT_NE(failure->message.find("Missing or wrong worker token"), std::string::npos)
      << failure->message;
  EXPECT_TRUE(peer->closed_by_peer());
  EXPECT_FALSE(broker.accept(300)) << "no reconnect after a refusal";
  EXPECT_EQ(w.registrations(), 1u);
}

TEST(Worker, AnAnswerToOneOfItsResultsDoesNotStopIt) {
  fake_broker broker;
  worker w{options_for(broker.url()), wait_for_cancel};
  auto peer = registered(broker, w);
  ASSERT_TRUE(peer);
  peer->send(R"({"packet_type":"RESULT","cookie":")" + new_cookie() +
             R"(","rc":"COOKIE_NOT_FOUND","error":"Cookie not found"})");
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(w.failure());
  peer->send(original_run(new_cookie(), "after", "{}"));
  EXPECT_TRUE(eventually([&] { return w.tasks_running() == 1; })) << "still serving";
  w.stop();
  EXPECT_EQ(stopped_within(w, 3s), stop_reason::stopped);
}

TEST(Worker, ReconnectsWhenTheBrokerComesBack) {
  fake_broker broker;
  broker.stop_listening(); // the worker starts first and retries
  worker w{options_for(broker.url()), wait_for_cancel};
  w.start();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(w.registrations(), 0u);
  broker.listen();
  auto peer = broker.accept(3000);
  ASSERT_TRUE(peer) << "the worker retries with a backoff bounded by max_retry";
  EXPECT_EQ(peer->receive(), original_register(1));
  peer->close();
  auto again = broker.accept(3000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->receive(), original_register(1));
  EXPECT_EQ(w.registrations(), 2u);
}

TEST(Worker, AnswersARunBeyondItsCapacityWithNoCapacity) {
  fake_broker broker;
  worker w{options_for(broker.url()), wait_for_cancel};
  w.start();
  auto peer = broker.accept();
  ASSERT_TRUE(peer);
  ASSERT_TRUE(peer->receive());
  peer->send(original_run(new_cookie(), "slow", "{}"));
  auto extra = new_cookie();
  peer->send(original_run(extra, "slow", "{}"));
  auto answer = peer->receive();
  ASSERT_TRUE(answer);
  EXPECT_EQ(field(*answer, "cookie"), extra);
  EXPECT_EQ(field(*answer, "rc"), "NO_CAPACITY");
  EXPECT_EQ(w.tasks_running(), 1u);
}

TEST(Worker, SendsItsPipelinesInRegister) {
  auto options = options_for("", 2);
  options.pipelines = std::vector<std::string>{"echo", "upper"};
  auto expected = original_register(2);
  expected.pop_back();
  EXPECT_EQ(first_register(options), expected + R"(,"pipelines":["echo","upper"]})");
  for (auto bad : {std::vector<std::string>{}, std::vector<std::string>{"echo", ""}}) {
    auto refused = options_for("socket:///tmp/unused.sock");
    refused.pipelines = bad;
    EXPECT_THROW(worker(refused, wait_for_cancel), std::invalid_argument);
  }
}

TEST(Worker, ProgressGoesOutBeforeTheResultAndNotAfterIt) {
  fake_broker broker;
  worker w{options_for(broker.url()), [&](task_context& t) {
             t.progress(R"({"step": 1})");
             // From another thread too: progress() is thread-safe.
             std::thread{[&t] { t.progress("2"); }}.join();
             return std::string{"3"};
           }};
  auto peer = registered(broker, w);
  ASSERT_TRUE(peer);
  auto cookie = new_cookie();
  peer->send(original_run(cookie, "echo", "{}"));
  EXPECT_EQ(peer->receive(), progress_packet(cookie, R"({"step": 1})"));
  EXPECT_EQ(peer->receive(), progress_packet(cookie, "2"));
  EXPECT_EQ(peer->receive(), original_result(cookie, "3"));
}

TEST(Worker, ProgressOfATaskWhoseConnectionClosedIsDropped) {
  fake_broker broker;
  std::promise<void> sent;
  worker w{options_for(broker.url()), [&](task_context& t) {
             t.wait_for_cancel(10s); // the connection closes
             t.progress("1");
             sent.set_value();
             return std::string{"2"};
           }};
  auto peer = registered(broker, w);
  ASSERT_TRUE(peer);
  peer->send(original_run(new_cookie(), "echo", "{}"));
  std::this_thread::sleep_for(50ms); // the task starts
  peer->close();
  auto again = broker.accept();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->receive(), original_register(1));
  ASSERT_EQ(sent.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(again->receive(300), std::nullopt) << "neither its PROGRESS nor its RESULT";
}

TEST(Worker, ANodeThatClosesEachConnectionAtOnceIsDialledWithBackoff) {
  fake_broker broker;
  auto options = options_for(broker.url());
  options.first_retry = 100ms;
  options.max_retry = 5s;
  worker w{options, wait_for_cancel};
  w.start();
  // As a node over max-worker-connections does: accept, then close before anything is read.
  int accepted = 0;
  auto until = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < until) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    auto peer = broker.accept(static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
    if (!peer)
      break;
    ++accepted;
    peer->close();
  }
  // 0, 0.1, 0.3, 0.7 and 1.5 s with the delay doubling; a delay that started over after each
  // connection would have made about 20.
  EXPECT_GE(accepted, 3);
  EXPECT_LE(accepted, 6);
  w.stop();
}

// The client library against an in-process node, with library workers: runs over TCP and Unix
// sockets, many runs on one connection, cancel, detach, error results.

#include "rcbroker/client/client.hpp"
#include "rcbroker/client/random_cookie.hpp"
#include "rcbroker/client/worker.hpp"
#include "test_node.hpp"

#include <atomic>
#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <thread>

using namespace rcbroker::client;
using rcbroker::protocol::result_code;
using rcbroker::test_support::test_node;
using namespace std::chrono_literals;

namespace {

// A worker that echoes its variables, registered with `node` before it returns.
std::unique_ptr<worker> start_worker(test_node& node, const std::string& url, task_handler handler,
                                     std::int64_t capacity = 1) {
  auto before = node.status().registered_slots;
  worker_options options;
  options.endpoint = url;
  options.capacity = capacity;
  auto w = std::make_unique<worker>(options, std::move(handler));
  w->start();
  EXPECT_TRUE(node.wait_for([&](auto& s) { return s.registered_slots == before + capacity; }));
  return w;
}

std::string echo(task_context& task) {
  return task.variables();
}

// Gets a future's value, failing the test (not hanging it) when it takes longer than `limit`.
template <class T>
T get_within(std::future<T>& f, std::chrono::milliseconds limit = 5000ms) {
  if (f.wait_for(limit) != std::future_status::ready) {
    ADD_FAILURE() << "no result within " << limit.count() << " ms";
    throw std::runtime_error("timed out");
  }
  return f.get();
}

void echo_round_trip(const std::string& client_url, const std::string& worker_url,
                     test_node& node) {
  auto w = start_worker(node, worker_url, echo);
  client c{client_url};
  auto f = c.run("echo", R"({"x": 1, "s": "\u00e9\"q\""})");
  auto r = get_within(f);
  ASSERT_TRUE(r.ok()) << (r.error ? *r.error : "");
  EXPECT_EQ(r.value(), R"({"x": 1, "s": "\u00e9\"q\""})");
  EXPECT_TRUE(r.stacktrace.empty());
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 0 && s.free_slots == 1; }));
}

} // namespace

TEST(Client, RunOverTcp) {
  test_node node;
  echo_round_trip(node.client_tcp, node.worker_tcp, node);
}

TEST(Client, RunOverUnixSockets) {
  test_node node;
  echo_round_trip(node.client_unix, node.worker_unix, node);
}

TEST(Client, CallbackOverloadGetsTheResultWithItsCookie) {
  test_node node;
  auto w = start_worker(node, node.worker_tcp,
                        [](task_context& t) { return "\"" + t.pipeline() + "\""; });
  client c{node.client_unix};
  std::promise<task_result> got;
  auto cookie = c.run("named", "{}", [&](task_result r) { got.set_value(std::move(r)); });
  auto f = got.get_future();
  auto r = get_within(f);
  EXPECT_EQ(r.cookie, cookie);
  EXPECT_EQ(r.value(), "\"named\"");
}

TEST(Client, ManyRunsInFlightOnOneConnection) {
  constexpr int runs = 16;
  test_node node;
  // Every task waits until all of them have reached the worker: they are in flight together.
  std::atomic<int> arrived{0};
  auto w = start_worker(
      node, node.worker_tcp,
      [&](task_context& t) {
        ++arrived;
        for (int i = 0; i < 500 && arrived.load() < runs; ++i)
          std::this_thread::sleep_for(10ms);
        return t.variables();
      },
      runs);
  client c{node.client_tcp};
  std::vector<std::future<task_result>> results;
  for (int i = 0; i < runs; ++i)
    results.push_back(c.run("echo", "{\"n\": " + std::to_string(i) + "}"));
  for (int i = 0; i < runs; ++i) {
    auto r = get_within(results[i], 10000ms);
    ASSERT_TRUE(r.ok()) << i;
    EXPECT_EQ(r.value(), "{\"n\": " + std::to_string(i) + "}") << "results must not be mixed up";
  }
  EXPECT_EQ(arrived.load(), runs);
}

TEST(Client, CancelStopsTheTaskAndEndsTheRunWithCancelled) {
  test_node node;
  std::promise<void> started;
  std::atomic<bool> saw_cancel{false};
  auto w = start_worker(node, node.worker_tcp, [&](task_context& t) -> std::string {
    started.set_value();
    if (t.wait_for_cancel(10s)) {
      saw_cancel = true;
      t.throw_if_cancelled();
    }
    return "\"not cancelled\"";
  });
  client c{node.client_tcp};
  run_options options;
  options.cookie = random_cookie();
  auto f = c.run("slow", "{}", options);
  ASSERT_EQ(started.get_future().wait_for(5s), std::future_status::ready);
  c.cancel(*options.cookie);
  auto r = get_within(f);
  EXPECT_EQ(r.rc, result_code::exception);
  EXPECT_EQ(r.error, "Cancelled");
  EXPECT_EQ(r.cookie, *options.cookie);
  EXPECT_TRUE(saw_cancel.load());
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 0 && s.free_slots == 1; }));
}

TEST(Client, DetachedRunIsReadyAtOnceAndStillRuns) {
  test_node node;
  std::promise<std::string> first_variables;
  std::atomic<int> runs{0};
  auto w = start_worker(node, node.worker_unix, [&](task_context& t) {
    if (runs++ == 0)
      first_variables.set_value(t.variables());
    return std::string{"\"dropped by the broker\""};
  });
  client c{node.client_unix};
  run_options options;
  options.detach = true;
  auto f = c.run("fire", R"({"and": "forget"})", options);
  auto r = get_within(f, 1000ms);
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.result);
  EXPECT_EQ(r.value(), "");
  auto at_worker = first_variables.get_future();
  EXPECT_EQ(get_within(at_worker), R"({"and": "forget"})");
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 0 && s.free_slots == 1; }));

  // The callback overload calls nothing for a detached run.
  std::atomic<int> calls{0};
  c.run(
      "fire", "{}", [&](task_result) { ++calls; }, options);
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.runs_accepted == 2 && s.routes == 0; }));
  auto check = c.run("echo", "{}"); // answered after anything the broker sent for the detached run
  EXPECT_TRUE(get_within(check).ok());
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(runs.load(), 3);
}

TEST(Client, HandlerExceptionIsProcessorExceptionWithItsText) {
  test_node node;
  auto w = start_worker(node, node.worker_tcp, [](task_context&) -> std::string {
    throw std::invalid_argument("pipeline exploded: \"x\" missing");
  });
  client c{node.client_tcp};
  auto f = c.run("explode", "{}");
  auto r = get_within(f);
  EXPECT_EQ(r.rc, result_code::processor_exception);
  EXPECT_EQ(r.error, "pipeline exploded: \"x\" missing");
  ASSERT_FALSE(r.stacktrace.empty());
  EXPECT_EQ(r.stacktrace.back(), "std::invalid_argument: pipeline exploded: \"x\" missing");
  try {
    r.value();
    ADD_FAILURE() << "value() must throw for a failed run";
  } catch (const task_error& e) {
    EXPECT_EQ(e.rc(), result_code::processor_exception);
    EXPECT_EQ(e.error(), "pipeline exploded: \"x\" missing");
    EXPECT_EQ(e.stacktrace(), r.stacktrace);
    EXPECT_EQ(e.cookie(), r.cookie);
    EXPECT_STREQ(e.what(), "PROCESSOR_EXCEPTION: pipeline exploded: \"x\" missing");
  }
}

TEST(Client, PriorityOrdersTheRunsThatWait) {
  test_node node{[](rcbroker::node::settings& s) { s.queue_limit = 4; }};
  std::promise<void> release;
  auto released = release.get_future().share();
  std::mutex m;
  std::vector<std::string> order; // the variables of the tasks, as the worker started them
  auto w = start_worker(node, node.worker_tcp, [&](task_context& t) {
    {
      std::lock_guard<std::mutex> lock{m};
      order.push_back(t.variables());
    }
    released.wait_for(10s); // bounded: a failed check must not hang the worker's destructor
    return t.variables();
  });
  client c{node.client_tcp};
  auto first = c.run("echo", "1"); // takes the one slot
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.free_slots == 0; }));
  run_options low;
  low.priority = -1;
  run_options high;
  high.priority = 7;
  auto later = c.run("echo", "2", low);
  auto sooner = c.run("echo", "3", high);
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.queued == 2; }));
  release.set_value();
  for (auto* f : {&first, &later, &sooner})
    EXPECT_TRUE(get_within(*f).ok());
  std::lock_guard<std::mutex> lock{m};
  EXPECT_EQ(order, (std::vector<std::string>{"1", "3", "2"})) << "the higher priority first";
}

TEST(Client, NoCapacityWithoutWorkers) {
  test_node node;
  client c{node.client_tcp};
  auto f = c.run("echo", "{}");
  auto r = get_within(f);
  EXPECT_EQ(r.rc, result_code::no_capacity);
  EXPECT_EQ(r.error, "No capacity available");
  EXPECT_THROW(r.value(), task_error);
}

TEST(Client, BrokerErrorsReachTheRun) {
  test_node node;
  client c{node.client_tcp};
  auto f = c.run("", "{}"); // the broker refuses an empty pipeline
  auto r = get_within(f);
  EXPECT_EQ(r.rc, result_code::bad_packet);
  EXPECT_EQ(r.error, "Missing pipeline");
}

TEST(Client, CookieInUseIsRefusedWithoutDisturbingTheFirstRun) {
  test_node node;
  std::promise<void> release;
  auto released = release.get_future().share();
  auto w = start_worker(node, node.worker_tcp, [released](task_context& t) {
    released.wait_for(5s);
    return t.variables();
  });
  client c{node.client_tcp};
  run_options options;
  options.cookie = random_cookie();
  auto first = c.run("echo", "1", options);
  auto second = c.run("echo", "2", options);
  auto refused = get_within(second);
  EXPECT_EQ(refused.rc, result_code::cookie_collision);
  release.set_value();
  EXPECT_EQ(get_within(first).value(), "1");
}

TEST(Client, ConnectErrorsSayWhy) {
  try {
    client c{"ftp://localhost"};
    ADD_FAILURE() << "a bad URL must not connect";
  } catch (const connect_error& e) {
    EXPECT_NE(std::string{e.what()}.find("unsupported scheme"), std::string::npos) << e.what();
  }
  auto dir = rcbroker::test_support::make_temp_dir();
  try {
    client c{"socket://" + dir + "/nobody.sock"};
    ADD_FAILURE() << "nobody listens there";
  } catch (const connect_error& e) {
    EXPECT_NE(std::string{e.what()}.find("nobody.sock"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(Client, CloseEndsOpenRunsWithBrokerWentAway) {
  test_node node;
  auto w = start_worker(node, node.worker_tcp, [](task_context& t) {
    t.wait_for_cancel(10s);
    return std::string{"null"};
  });
  client c{node.client_tcp};
  auto open = c.run("slow", "{}");
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 1; }));
  c.close();
  EXPECT_EQ(get_within(open).rc, result_code::broker_went_away);
  auto later = c.run("echo", "{}");
  EXPECT_EQ(get_within(later, 1000ms).rc, result_code::broker_went_away);
  EXPECT_FALSE(c.connected());
}

TEST(Client, NodeShutdownEndsOpenRunsWithBrokerWentAway) {
  test_node node;
  auto w = start_worker(node, node.worker_unix, [](task_context& t) {
    t.wait_for_cancel(10s);
    return std::string{"null"};
  });
  client c{node.client_unix};
  auto open = c.run("slow", "{}");
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 1; }));
  node.shutdown();
  auto r = get_within(open);
  EXPECT_EQ(r.rc, result_code::broker_went_away);
  auto stopped = std::async(std::launch::async, [&] { return w->wait(); });
  EXPECT_EQ(get_within(stopped), stop_reason::shutdown);
}

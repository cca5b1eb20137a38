// The client and worker libraries against an rcbroker child process that dies and comes back.

#include "rcbroker/client/client.hpp"
#include "rcbroker/client/worker.hpp"
#include "child_process.hpp"
#include "test_node.hpp"
#include "eventually.hpp"

#include <csignal>
#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <thread>

using namespace rcbroker::client;
using rcbroker::protocol::result_code;
using rcbroker::test_support::child_process;
using namespace std::chrono_literals;

using rcbroker::test_support::eventually;

namespace {

using rcbroker::test_support::temp_dir;

// Starts rcbroker with Unix endpoints in `dir` and waits until it is ready.
std::unique_ptr<child_process> start_node(const temp_dir& dir, const std::string& log_name) {
  auto node = std::make_unique<child_process>(
      RCBROKER_BINARY,
      std::vector<std::string>{"--config", RCBROKER_SOURCE_DIR "/caf-application.conf", "--serve",
                               "socket://" + dir.path + "/c.sock", "--listen",
                               "socket://" + dir.path + "/w.sock", "--log-level", "debug"},
      dir.path + "/" + log_name);
  EXPECT_TRUE(node->log_contains("rcbroker ready")) << node->log();
  return node;
}

worker_options fast_retry(const std::string& url, std::int64_t capacity) {
  worker_options options;
  options.endpoint = url;
  options.capacity = capacity;
  options.first_retry = 50ms;
  options.max_retry = 400ms;
  return options;
}

// Runs "echo" until the node has a worker for it (a worker registers asynchronously).
task_result echo_once_served(client& c, const std::string& variables) {
  task_result r;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto f = c.run("echo", variables);
    if (f.wait_for(5s) != std::future_status::ready)
      break;
    r = f.get();
    if (r.rc != result_code::no_capacity)
      return r;
    std::this_thread::sleep_for(50ms);
  }
  return r;
}

// Submits a slow run, again while the node answers NO_CAPACITY (its worker is not registered
// yet); returns the run in flight.
std::future<task_result> slow_run_in_flight(client& c) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto f = c.run("slow", "{}");
    if (f.wait_for(200ms) != std::future_status::ready)
      return f;
    auto refused = f.get();
    EXPECT_EQ(refused.rc, result_code::no_capacity);
  }
  ADD_FAILURE() << "the node never had a slot for the run";
  return {};
}

} // namespace

TEST(BrokerProcess, KilledBrokerEndsOpenRunsWithBrokerWentAway) {
  temp_dir dir;
  auto node = start_node(dir, "node.log");
  worker w{fast_retry("socket://" + dir.path + "/w.sock", 3), [](task_context& t) {
             t.wait_for_cancel(10s);
             return std::string{"null"};
           }};
  w.start();
  client c{"socket://" + dir.path + "/c.sock"};
  std::vector<std::future<task_result>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(slow_run_in_flight(c));
    ASSERT_TRUE(open.back().valid());
  }
  ASSERT_TRUE(eventually([&] { return w.tasks_running() == 3; })) << node->log();
  node->signal(SIGKILL);
  for (auto& f : open) {
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    auto r = f.get();
    EXPECT_EQ(r.rc, result_code::broker_went_away);
    EXPECT_THROW(r.value(), task_error);
  }
  EXPECT_FALSE(c.connected());
  auto later = c.run("echo", "{}");
  ASSERT_EQ(later.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(later.get().rc, result_code::broker_went_away);
  EXPECT_TRUE(eventually([&] { return w.tasks_running() == 0; }))
      << "the worker cancels the tasks of the connection it lost";
}

TEST(BrokerProcess, WorkerReconnectsAfterTheNodeRestarts) {
  temp_dir dir;
  auto node = start_node(dir, "node1.log");
  worker w{fast_retry("socket://" + dir.path + "/w.sock", 2),
           [](task_context& t) { return t.variables(); }};
  w.start();
  {
    client c{"socket://" + dir.path + "/c.sock"};
    auto r = echo_once_served(c, R"({"before": true})");
    ASSERT_TRUE(r.ok()) << rcbroker::protocol::to_string(r.rc);
    EXPECT_EQ(r.value(), R"({"before": true})");
  }
  EXPECT_EQ(w.registrations(), 1u);
  node->signal(SIGKILL);
  node->wait();
  std::this_thread::sleep_for(200ms);  // the worker fails to reconnect a few times meanwhile
  node = start_node(dir, "node2.log"); // same paths; the stale socket files are replaced
  ASSERT_TRUE(eventually([&] { return w.registrations() == 2; })) << node->log();
  client c{"socket://" + dir.path + "/c.sock"};
  auto r = echo_once_served(c, R"({"after": true})");
  ASSERT_TRUE(r.ok()) << rcbroker::protocol::to_string(r.rc) << "\n" << node->log();
  EXPECT_EQ(r.value(), R"({"after": true})");
}

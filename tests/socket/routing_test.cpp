// Socket-level routing: original-form frames over real TCP and Unix sockets through an
// in-process node.

#include "raw_peer.hpp"
#include "test_node.hpp"

#include <gtest/gtest.h>
#include <map>
#include <set>
#include <thread>

using namespace rcbroker::test_support;

namespace {

// Connects a worker on `url` and registers `capacity`; waits until the node counts the slots.
raw_peer make_worker(test_node& node, const std::string& url, int capacity) {
  auto before = node.status().registered_slots;
  raw_peer w{url};
  w.send(original_register(capacity));
  EXPECT_TRUE(node.wait_for([&](auto& s) { return s.registered_slots == before + capacity; }));
  return w;
}

void run_one_task(test_node& node, const std::string& client_url, const std::string& worker_url) {
  auto worker = make_worker(node, worker_url, 1);
  raw_peer client{client_url};
  auto cookie = new_cookie();
  auto run = original_run(cookie, "echo", R"({"x": 1})");
  client.send(run);
  auto at_worker = worker.receive();
  ASSERT_TRUE(at_worker);
  EXPECT_EQ(*at_worker, run) << "the RUN must reach the worker byte for byte";
  auto result = original_result(cookie, R"({"y": "\u00e9"})");
  worker.send(result);
  auto at_client = client.receive();
  ASSERT_TRUE(at_client);
  EXPECT_EQ(*at_client, result) << "the RESULT must reach the client byte for byte";
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 0 && s.free_slots == 1; }));
}

} // namespace

TEST(SocketRouting, OneRunOverTcp) {
  test_node node;
  run_one_task(node, node.client_tcp, node.worker_tcp);
}

TEST(SocketRouting, OneRunOverUnixSockets) {
  test_node node;
  run_one_task(node, node.client_unix, node.worker_unix);
}

TEST(SocketRouting, ClientOnUnixWorkerOnTcp) {
  test_node node;
  run_one_task(node, node.client_unix, node.worker_tcp);
}

TEST(SocketRouting, NoCapacityWithoutWorkers) {
  test_node node;
  raw_peer client{node.client_tcp};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", "{}"));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, R"({"packet_type":"RESULT","cookie":")" + cookie +
                        R"(","rc":"NO_CAPACITY","error":"No capacity available"})");
}

TEST(SocketRouting, CancelReachesWorkerAndItsResultEndsTheRoute) {
  test_node node;
  auto worker = make_worker(node, node.worker_tcp, 1);
  raw_peer client{node.client_tcp};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "slow", "{}"));
  ASSERT_TRUE(worker.receive());
  client.send(original_cancel(cookie));
  auto cancel = worker.receive();
  ASSERT_TRUE(cancel);
  EXPECT_EQ(*cancel, original_cancel(cookie));
  worker.send(original_result(cookie, "null"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "cookie"), cookie);
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 0 && s.free_slots == 1; }));
}

TEST(SocketRouting, UpperCaseCookieIsForwardedAsSentAndAnsweredInLowerCase) {
  test_node node;
  auto worker = make_worker(node, node.worker_tcp, 1);
  raw_peer client{node.client_tcp};
  auto cookie = new_cookie();
  std::string upper = cookie;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  client.send(original_run(upper, "echo", "{}"));
  ASSERT_TRUE(worker.receive());
  // A second RUN with the same cookie in lower case collides: both spell one UUID.
  client.send(original_run(cookie, "echo", "{}"));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "COOKIE_COLLISION");
  EXPECT_EQ(field(*reply, "cookie"), cookie);
}

TEST(SocketRouting, ManyClientsAndWorkersEachResultReachesItsOwnClient) {
  test_node node;
  constexpr int workers_count = 4;
  constexpr int capacity = 8;
  constexpr int clients_count = 8;
  constexpr int runs_per_client = 100;
  std::vector<raw_peer> workers;
  for (int i = 0; i < workers_count; ++i)
    workers.push_back(make_worker(node, i % 2 ? node.worker_unix : node.worker_tcp, capacity));
  std::atomic<bool> stop{false};
  std::vector<std::thread> worker_threads;
  std::atomic<int> answered{0};
  for (auto& w : workers)
    worker_threads.emplace_back([&w, &stop, &answered] {
      while (!stop) {
        auto run = w.receive(100);
        if (!run)
          continue;
        // Echo the variables back as the result, as rcworker does.
        w.send(original_result(field(*run, "cookie"), field(*run, "variables")));
        ++answered;
      }
    });
  std::vector<std::thread> client_threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < clients_count; ++c)
    client_threads.emplace_back([&, c] {
      raw_peer client{c % 2 ? node.client_unix : node.client_tcp};
      std::map<std::string, std::string> expected; // cookie -> variables
      // Keep the clients' runs in flight within the slots, so NO_CAPACITY cannot happen.
      constexpr int max_in_flight = workers_count * capacity / clients_count;
      int sent = 0;
      int received = 0;
      int in_flight = 0;
      while (received < runs_per_client) {
        while (sent < runs_per_client && in_flight < max_in_flight) {
          auto cookie = new_cookie();
          auto vars =
              R"({"client": )" + std::to_string(c) + R"(, "n": )" + std::to_string(sent) + "}";
          expected[cookie] = vars;
          client.send(original_run(cookie, "echo", vars));
          ++sent;
          ++in_flight;
        }
        auto result = client.receive();
        if (!result) {
          ++failures;
          return;
        }
        auto i = expected.find(field(*result, "cookie"));
        if (i == expected.end() || field(*result, "rc") != "OK" ||
            field(*result, "result") != i->second)
          ++failures;
        else
          expected.erase(i);
        ++received;
        --in_flight;
      }
      if (!expected.empty())
        ++failures;
    });
  for (auto& t : client_threads)
    t.join();
  stop = true;
  for (auto& t : worker_threads)
    t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(answered, clients_count * runs_per_client);
  EXPECT_TRUE(node.wait_for(
      [&](auto& s) { return s.routes == 0 && s.free_slots == workers_count * capacity; }));
}

TEST(SocketRouting, WorkerKilledMidTaskGivesWorkerWentAway) {
  test_node node;
  auto worker = make_worker(node, node.worker_tcp, 2);
  raw_peer client{node.client_tcp};
  auto c1 = new_cookie();
  auto c2 = new_cookie();
  client.send(original_run(c1, "slow", "{}"));
  client.send(original_run(c2, "slow", "{}"));
  ASSERT_TRUE(worker.receive());
  ASSERT_TRUE(worker.receive());
  worker.close();
  std::set<std::string> went_away;
  for (int i = 0; i < 2; ++i) {
    auto reply = client.receive();
    ASSERT_TRUE(reply);
    EXPECT_EQ(field(*reply, "rc"), "WORKER_WENT_AWAY");
    EXPECT_EQ(field(*reply, "error"), "The worker connection went away");
    went_away.insert(field(*reply, "cookie"));
  }
  EXPECT_EQ(went_away, (std::set<std::string>{c1, c2}));
  EXPECT_TRUE(node.wait_for(
      [](auto& s) { return s.routes == 0 && s.registered_slots == 0 && s.workers == 0; }));
}

TEST(SocketRouting, ClientGoneAnswerIsDroppedAndSlotFreed) {
  test_node node;
  auto worker = make_worker(node, node.worker_tcp, 1);
  auto cookie = new_cookie();
  {
    raw_peer client{node.client_tcp};
    client.send(original_run(cookie, "slow", "{}"));
    ASSERT_TRUE(worker.receive());
  }
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.clients == 0; }));
  EXPECT_EQ(node.status().routes, 1u) << "the route stays until the worker answers";
  worker.send(original_result(cookie, "1"));
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 0 && s.free_slots == 1; }));
}

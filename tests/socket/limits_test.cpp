// Limits over real sockets: connections per endpoint kind, open tasks per client, and a client
// that does not read (max-write-queue) while others keep their pace.

#include "log_capture.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <thread>

using namespace rcbroker::test_support;
using namespace std::chrono_literals;

namespace {

raw_peer make_worker(test_node& node, const std::string& url, int capacity) {
  auto before = node.status().registered_slots;
  raw_peer w{url};
  w.send(original_register(capacity));
  EXPECT_TRUE(node.wait_for([&](auto& s) { return s.registered_slots == before + capacity; }));
  return w;
}

// Waits until the Broker's own counts satisfy `pred` (they follow connection ends on their own
// down messages, apart from the Switchboard's).
template <class Predicate>
bool wait_for_broker(test_node& node, Predicate pred) {
  for (int i = 0; i < 500; ++i) {
    auto snapshot = node.metrics();
    if (pred(snapshot.broker))
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// One RUN from `client` that `worker` answers; true when the client got that answer.
bool round_trip(raw_peer& client, raw_peer& worker, int timeout_ms = 5000) {
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", "{}"));
  auto run = worker.receive(timeout_ms);
  if (!run || field(*run, "cookie") != cookie)
    return false;
  worker.send(original_result(cookie, "{}"));
  auto result = client.receive(timeout_ms);
  return result && field(*result, "cookie") == cookie && field(*result, "rc") == "OK";
}

} // namespace

TEST(SocketLimits, ConnectionsOverTheLimitOfTheirKindAreClosedAtOnceAndCounted) {
  log_capture log;
  test_node node{[](rcbroker::node::settings& s) {
    s.max_client_connections = 2;
    s.max_worker_connections = 1;
  }};
  raw_peer c1{node.client_tcp};
  raw_peer c2{node.client_unix};
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.clients == 2; }));
  raw_peer c3{node.client_tcp};
  EXPECT_TRUE(c3.closed_by_peer());
  auto w1 = make_worker(node, node.worker_tcp, 1);
  raw_peer w2{node.worker_unix};
  EXPECT_TRUE(w2.closed_by_peer());

  // Those within the limits are served as ever.
  EXPECT_TRUE(round_trip(c1, w1));
  EXPECT_TRUE(round_trip(c2, w1));
  auto snapshot = node.metrics().broker;
  EXPECT_EQ(snapshot.clients_refused, 1u);
  EXPECT_EQ(snapshot.workers_refused, 1u);
  EXPECT_EQ(snapshot.client_connections, 2u);
  EXPECT_EQ(snapshot.worker_connections, 1u);
  EXPECT_TRUE(log.contains("max-client-connections 2 reached")) << log.text();
  EXPECT_EQ(node.status().clients, 2u) << "a refused socket never reaches the Switchboard";

  // A place that frees is taken again.
  c2.close();
  ASSERT_TRUE(wait_for_broker(node, [](auto& b) { return b.client_connections == 1; }));
  raw_peer c4{node.client_tcp};
  EXPECT_TRUE(round_trip(c4, w1));
  EXPECT_EQ(node.metrics().broker.clients_refused, 1u);
}

TEST(SocketLimits, RunsOverThePerClientLimitGetNoCapacityOnlyForThatClient) {
  test_node node{[](rcbroker::node::settings& s) { s.max_runs_per_client = 2; }};
  auto worker = make_worker(node, node.worker_tcp, 10);
  raw_peer greedy{node.client_tcp};
  std::string cookies[3] = {new_cookie(), new_cookie(), new_cookie()};
  for (auto& c : cookies)
    greedy.send(original_run(c, "slow", "{}"));
  auto reply = greedy.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, R"({"packet_type":"RESULT","cookie":")" + cookies[2] +
                        R"x(","rc":"NO_CAPACITY","error":"Too many runs in flight on this )x"
                        R"x(connection (max-runs-per-client 2)"})x");
  for (int i = 0; i < 2; ++i) {
    auto run = worker.receive();
    ASSERT_TRUE(run);
    EXPECT_EQ(field(*run, "cookie"), cookies[i]);
  }

  // Another client is not held to the first one's count.
  raw_peer other{node.client_unix};
  EXPECT_TRUE(round_trip(other, worker));

  // A finished task makes room.
  worker.send(original_result(cookies[0], "{}"));
  auto result = greedy.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "cookie"), cookies[0]);
  EXPECT_TRUE(round_trip(greedy, worker));
}

TEST(SocketLimits, AClientThatDoesNotReadIsDroppedAndOthersKeepTheirPace) {
  log_capture log;
  test_node node{[](rcbroker::node::settings& s) {
    s.max_frame_size = 128 * 1024;
    s.max_write_queue = 1024 * 1024;
  }};
  auto worker = make_worker(node, node.worker_tcp, 100);
  raw_peer slow{node.client_unix}; // never reads
  raw_peer fast{node.client_tcp};
  constexpr int slow_runs = 64;
  std::vector<std::string> slow_cookies;
  for (int i = 0; i < slow_runs; ++i) {
    slow_cookies.push_back(new_cookie());
    slow.send(original_run(slow_cookies.back(), "big", "{}"));
  }
  for (int i = 0; i < slow_runs; ++i)
    ASSERT_TRUE(worker.receive());
  const std::string big = "\"" + std::string(64 * 1000, 'x') + "\"";

  // 640 KB for the slow client: more than its socket takes, less than max-write-queue. It stalls
  // but stays, and the other client's tasks take no longer for it.
  for (int i = 0; i < 10; ++i)
    worker.send(original_result(slow_cookies[i], big));
  std::this_thread::sleep_for(200ms);
  for (int i = 0; i < 20; ++i) {
    auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(round_trip(fast, worker, 2000)) << "task " << i;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s) << "task " << i;
  }
  EXPECT_EQ(node.status().clients, 2u) << "under max-write-queue the slow client stays";

  // 3.4 MB more: over max-write-queue, the slow client is dropped with the reason in the log.
  for (int i = 10; i < slow_runs; ++i)
    worker.send(original_result(slow_cookies[i], big));
  EXPECT_TRUE(log.contains("write queue exceeded 1048576 bytes (the peer does not read)"))
      << log.text();
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.clients == 1; }));
  EXPECT_TRUE(round_trip(fast, worker, 2000));
  EXPECT_TRUE(slow.closed_by_peer(10000));
  // Every task of the slow client was answered: its routes are gone, its slots back.
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 0 && s.free_slots == 100; }));
}

// Ownership over real sockets: a worker cannot end another worker's task, a client cannot cancel
// or take over another client's, and nothing of one client's task reaches anyone else.

#include "raw_peer.hpp"
#include "test_node.hpp"

#include <gtest/gtest.h>

using namespace rcbroker::test_support;

TEST(SocketOwnership, NoPeerCanEndOrCancelAnothersTaskAndNothingLeaks) {
  test_node node;
  raw_peer a{node.worker_tcp}; // registers first: its slot is handed out first
  a.send(original_register(1));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  raw_peer b{node.worker_unix};
  b.send(original_register(1));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 2; }));
  raw_peer x{node.client_tcp};
  raw_peer y{node.client_unix};

  auto cookie = new_cookie();
  auto run = original_run(cookie, "secret", R"({"owner": "x"})");
  x.send(run);
  auto at_a = a.receive();
  ASSERT_TRUE(at_a);
  EXPECT_EQ(*at_a, run);

  // Worker b answers x's task: dropped and counted, x hears nothing, the route stays a's.
  b.send(original_result(cookie, R"({"forged": true})"));
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.results_dropped == 1; }));
  // Client y cancels x's task, then tries to take its cookie: refused both times.
  y.send(original_cancel(cookie));
  auto reply = y.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, R"({"packet_type":"RESULT","cookie":")" + cookie +
                        R"(","rc":"COOKIE_NOT_FOUND","error":"No such cookie"})");
  y.send(original_run(cookie, "echo", "{}"));
  reply = y.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "COOKIE_COLLISION");
  EXPECT_FALSE(a.receive(300)) << "y's CANCEL reached the worker";
  EXPECT_FALSE(x.receive(300)) << "the forged RESULT reached the client";
  auto s = node.status();
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 1u);

  // a's answer goes to x alone, byte for byte; b's slot was never taken.
  auto result = original_result(cookie, R"({"owner": "x", "done": true})");
  a.send(result);
  auto at_x = x.receive();
  ASSERT_TRUE(at_x);
  EXPECT_EQ(*at_x, result);
  EXPECT_FALSE(y.receive(300));
  EXPECT_FALSE(b.receive(300));
  EXPECT_TRUE(node.wait_for([](auto& st) { return st.routes == 0 && st.free_slots == 2; }));

  // Once the task ended, a second answer from its own worker is dropped too.
  a.send(original_result(cookie, R"({"again": true})"));
  EXPECT_TRUE(node.wait_for([](auto& st) { return st.results_dropped == 2; }));
  EXPECT_FALSE(x.receive(300));
}

// idle-timeout over real sockets: a connection from which nothing was read for the timeout is
// closed (its routes and slots go with it); one that talks stays.

#include "log_capture.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <thread>

using namespace rcbroker::test_support;
using namespace std::chrono_literals;

TEST(SocketIdleTimeout, SilentConnectionsAreClosedAfterTheTimeoutAndTalkingOnesStay) {
  log_capture log;
  test_node node{[](rcbroker::node::settings& s) { s.idle_timeout = 500ms; }};
  auto lived = connection_lifetime(node.client_tcp);
  ASSERT_TRUE(lived) << "a silent connection was not closed";
  EXPECT_GE(*lived, 490ms) << "closed before the timeout";
  EXPECT_LT(*lived, 2500ms);
  EXPECT_TRUE(log.contains("no bytes read for 500ms (idle-timeout)")) << log.text();

  // A worker that takes a task and then says nothing is closed too: its client hears
  // WORKER_WENT_AWAY and the slots are gone.
  raw_peer worker{node.worker_unix};
  worker.send(original_register(2));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 2; }));
  raw_peer talking{node.client_unix};
  auto cookie = new_cookie();
  talking.send(original_run(cookie, "stuck", "{}"));
  ASSERT_TRUE(worker.receive());
  bool went_away = false;
  // The client talks every 100 ms for 1.5 s: a CANCEL of an unknown cookie, always answered.
  for (int i = 0; i < 15; ++i) {
    auto unknown = new_cookie();
    talking.send(original_cancel(unknown));
    for (;;) {
      auto reply = talking.receive(2000);
      ASSERT_TRUE(reply) << "the talking client was closed";
      if (field(*reply, "cookie") == unknown) {
        EXPECT_EQ(field(*reply, "rc"), "COOKIE_NOT_FOUND") << *reply;
        break;
      }
      EXPECT_EQ(field(*reply, "cookie"), cookie) << *reply;
      EXPECT_EQ(field(*reply, "rc"), "WORKER_WENT_AWAY") << *reply;
      went_away = true;
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(went_away);
  EXPECT_TRUE(worker.closed_by_peer(1000));
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.workers == 0 && s.registered_slots == 0; }));
  talking.send(original_cancel(new_cookie()));
  auto reply = talking.receive();
  ASSERT_TRUE(reply) << "the talking client was closed";
  EXPECT_EQ(field(*reply, "rc"), "COOKIE_NOT_FOUND");
}

TEST(SocketIdleTimeout, OffByDefault) {
  test_node node;
  raw_peer silent{node.client_tcp};
  EXPECT_FALSE(silent.closed_by_peer(700));
  silent.send(original_cancel(new_cookie()));
  auto reply = silent.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "COOKIE_NOT_FOUND");
}

// The routing extensions of issue 14 through real sockets and connections (whose stateless checks
// read the new fields): PROGRESS, pipelines per worker, retries on worker loss.

#include "raw_peer.hpp"
#include "test_node.hpp"

#include <gtest/gtest.h>
#include <string>

using namespace rcbroker::test_support;

namespace {

/// A RUN with extension fields appended to the original form's fields.
std::string run_with(const std::string& cookie, const std::string& pipeline,
                     const std::string& extra) {
  auto run = original_run(cookie, pipeline, "{}");
  run.insert(run.size() - 1, "," + extra);
  return run;
}

std::string progress(const std::string& cookie, const std::string& text) {
  return R"({"packet_type":"PROGRESS","cookie":")" + cookie + R"(","result":"\")" + text +
         R"(\""})";
}

/// Connects a worker that registers `register_packet`, and waits until the node has `slots`.
raw_peer make_worker(test_node& node, const std::string& register_packet, std::uint64_t slots) {
  raw_peer w{node.worker_tcp};
  w.send(register_packet);
  EXPECT_TRUE(node.wait_for([&](auto& s) { return s.registered_slots == slots; }));
  return w;
}

} // namespace

TEST(SocketRoutingExtensions, ProgressReachesOnlyAClientThatAskedBeforeItsResult) {
  test_node node;
  auto worker = make_worker(node, original_register(2), 2);
  raw_peer asks{node.client_tcp};
  raw_peer original{node.client_tcp};
  auto c1 = new_cookie();
  auto c2 = new_cookie();
  asks.send(run_with(c1, "echo", R"("progress":true)"));
  original.send(original_run(c2, "echo", "{}"));
  ASSERT_TRUE(worker.receive());
  ASSERT_TRUE(worker.receive());
  worker.send(progress(c2, "unseen"));
  worker.send(progress(c1, "tok"));
  auto r1 = original_result(c1, "{}");
  auto r2 = original_result(c2, "{}");
  worker.send(r2);
  worker.send(r1);
  auto first = asks.receive();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, progress(c1, "tok"));
  EXPECT_EQ(asks.receive(), r1);
  EXPECT_EQ(original.receive(), r2) << "an original client sees its RESULT and nothing else";
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.routes == 0 && s.free_slots == 2; }));
}

TEST(SocketRoutingExtensions, ARunGoesToAWorkerThatServesItsPipeline) {
  test_node node;
  auto alpha =
      make_worker(node, R"({"packet_type":"REGISTER","capacity":1,"pipelines":["alpha"]})", 1);
  auto beta =
      make_worker(node, R"({"packet_type":"REGISTER","capacity":1,"pipelines":["beta"]})", 2);
  raw_peer client{node.client_tcp};
  auto c = new_cookie();
  auto run = original_run(c, "beta", "{}");
  client.send(run);
  EXPECT_EQ(beta.receive(), run);
  auto other = new_cookie();
  client.send(original_run(other, "gamma", "{}"));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "NO_CAPACITY");
  EXPECT_EQ(field(*reply, "error"), "No capacity available for pipeline 'gamma'");
}

TEST(SocketRoutingExtensions, ARunWithARetryCompletesOnAnotherWorkerAfterItsWorkerDies) {
  test_node node;
  auto first = make_worker(node, original_register(1), 1);
  raw_peer client{node.client_tcp};
  auto c = new_cookie();
  auto run = run_with(c, "echo", R"("retries":1)");
  client.send(run);
  EXPECT_EQ(first.receive(), run);
  auto second = make_worker(node, original_register(1), 2);
  first.close();
  EXPECT_EQ(second.receive(), run) << "the same RUN, same cookie";
  second.send(original_result(c, R"({"ok": true})"));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "OK");
  EXPECT_NE(reply->find(R"("attempts":2})"), std::string::npos) << *reply;
}

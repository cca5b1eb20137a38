// Bad input over real sockets: each bad connection gets its answer or is closed, and every
// other connection keeps working.

#include "raw_peer.hpp"
#include "test_node.hpp"

#include <gtest/gtest.h>

using namespace rcbroker::test_support;

namespace {

// A worker of capacity 1 plus a healthy client that completes one task: proves the node still
// serves others.
void expect_node_still_serves(test_node& node) {
  raw_peer worker{node.worker_tcp};
  worker.send(original_register(1));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.free_slots >= 1; }));
  raw_peer client{node.client_unix};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", "{}"));
  auto run = worker.receive();
  ASSERT_TRUE(run);
  worker.send(original_result(cookie, "{}"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "rc"), "OK");
}

std::string expected_result(const std::string& cookie_json, const char* rc, const char* error) {
  return std::string{R"({"packet_type":"RESULT","cookie":)"} + cookie_json + R"(,"rc":")" + rc +
         R"(","error":")" + error + R"("})";
}

} // namespace

TEST(SocketBadInput, GarbageWithoutCookieClosesOnlyThatConnection) {
  test_node node;
  raw_peer bystander{node.client_tcp};
  raw_peer bad{node.client_tcp};
  bad.send("this is not json");
  EXPECT_TRUE(bad.closed_by_peer());
  expect_node_still_serves(node);
  // The bystander, connected all along, still works too.
  auto cookie = new_cookie();
  bystander.send(original_run(cookie, "", "{}"));
  auto reply = bystander.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, expected_result("\"" + cookie + "\"", "BAD_PACKET", "Missing pipeline"));
}

TEST(SocketBadInput, OversizedLengthPrefixClosesWithoutAllocating) {
  test_node node;
  raw_peer bad{node.worker_tcp};
  bad.send_raw(std::string("\xff\xff\xff\xf0", 4) + "x");
  EXPECT_TRUE(bad.closed_by_peer());
  expect_node_still_serves(node);
}

TEST(SocketBadInput, FrameOverTheConfiguredLimitCloses) {
  test_node node{[](rcbroker::node::settings& s) { s.max_frame_size = 1024; }};
  raw_peer bad{node.client_tcp};
  bad.send(original_run(new_cookie(), "echo", std::string(2000, 'x')));
  EXPECT_TRUE(bad.closed_by_peer());
  expect_node_still_serves(node);
}

TEST(SocketBadInput, ZeroLengthFrameCloses) {
  test_node node;
  raw_peer bad{node.client_tcp};
  bad.send("");
  EXPECT_TRUE(bad.closed_by_peer());
  expect_node_still_serves(node);
}

TEST(SocketBadInput, WrongFieldTypeWithCookieGetsBadPacketAndStaysOpen) {
  test_node node;
  raw_peer client{node.client_tcp};
  auto cookie = new_cookie();
  client.send(R"({"packet_type":"RUN","cookie":")" + cookie + R"(","pipeline":42})");
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "BAD_PACKET");
  EXPECT_EQ(field(*reply, "cookie"), cookie);
  EXPECT_NE(field(*reply, "error").find("pipeline"), std::string::npos);
  // Same connection, next packet: still served.
  client.send(original_run(new_cookie(), "echo", "{}"));
  auto next = client.receive();
  ASSERT_TRUE(next);
  EXPECT_EQ(field(*next, "rc"), "NO_CAPACITY");
}

TEST(SocketBadInput, SplitFrameByteByByteIsReassembled) {
  test_node node;
  raw_peer client{node.client_tcp};
  auto cookie = new_cookie();
  auto bytes = rcbroker::protocol::encode_frame(original_run(cookie, "echo", "{}"));
  for (char c : bytes)
    client.send_raw(std::string(1, c));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "NO_CAPACITY");
  EXPECT_EQ(field(*reply, "cookie"), cookie);
}

TEST(SocketBadInput, ClientRowsOfTheProtocolTable) {
  test_node node;
  raw_peer client{node.client_tcp};
  auto cookie = new_cookie();
  client.send(R"({"packet_type":"RUN","cookie":null,"pipeline":"echo"})");
  EXPECT_EQ(client.receive(), expected_result("null", "BAD_PACKET", "Missing cookie"));
  client.send(R"({"packet_type":"CANCEL","cookie":null})");
  EXPECT_EQ(client.receive(), expected_result("null", "BAD_PACKET", "Missing cookie"));
  client.send(original_cancel(cookie));
  EXPECT_EQ(client.receive(),
            expected_result("\"" + cookie + "\"", "COOKIE_NOT_FOUND", "No such cookie"));
  client.send(original_register(4));
  EXPECT_EQ(client.receive(), expected_result("null", "UNSUPPORTED_PACKET_TYPE",
                                              "Packet type not supported on this client"));
  client.send(original_result(cookie, "{}"));
  EXPECT_EQ(client.receive(), expected_result("\"" + cookie + "\"", "UNSUPPORTED_PACKET_TYPE",
                                              "Packet type not supported on this client"));
  EXPECT_EQ(node.status().registered_slots, 0u) << "a client's REGISTER adds no capacity";
}

TEST(SocketBadInput, WorkerRowsOfTheProtocolTable) {
  test_node node;
  raw_peer worker{node.worker_tcp};
  worker.send(original_register(0));
  auto reply = worker.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "BAD_PACKET");
  worker.send(R"({"packet_type":"REGISTER"})");
  reply = worker.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "BAD_PACKET");
  worker.send(original_run(new_cookie(), "echo", "{}"));
  reply = worker.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "UNSUPPORTED_PACKET_TYPE");
  // A RESULT for an unknown cookie is dropped and counted, not forwarded anywhere.
  worker.send(original_result(new_cookie(), "{}"));
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.results_dropped == 1; }));
  worker.send(original_register(3));
  worker.send(original_register(2));
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 5; }));
}

TEST(SocketBadInput, AbruptDisconnectsInTheMiddleOfAFrame) {
  test_node node;
  for (int i = 0; i < 20; ++i) {
    raw_peer p{i % 2 ? node.client_tcp : node.worker_unix};
    p.send_raw(std::string("\x00\x00\x01\x00{\"packet", 12));
  }
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.clients == 0 && s.workers == 0; }));
  expect_node_still_serves(node);
}

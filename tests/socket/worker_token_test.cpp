// worker-token over real sockets: a REGISTER without the right token gets BAD_PACKET and no
// slots; the right one registers; without the setting, workers register as they always did.

#include "log_capture.hpp"
#include "raw_peer.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "test_node.hpp"

#include <gtest/gtest.h>

using namespace rcbroker::test_support;

namespace {

const std::string token = "correct horse battery staple";
const std::string refused =
    R"({"packet_type":"RESULT","cookie":null,"rc":"BAD_PACKET","error":"Missing or wrong worker token"})";

std::string register_with(int capacity, const std::optional<std::string>& t) {
  return std::string{rcbroker::protocol::make_register(capacity, t).payload()};
}

} // namespace

TEST(SocketWorkerToken, OnlyTheRightTokenRegisters) {
  log_capture log;
  test_node node{[](rcbroker::node::settings& s) { s.worker_token = token; }};
  std::vector<raw_peer> turned_away;
  for (auto& attempt :
       {original_register(2), register_with(2, std::string{}),
        register_with(2, token.substr(0, token.size() - 1)), register_with(2, token + "!"),
        register_with(2, "CORRECT HORSE BATTERY STAPLE")}) {
    raw_peer w{turned_away.size() % 2 ? node.worker_unix : node.worker_tcp};
    w.send(attempt);
    auto reply = w.receive();
    ASSERT_TRUE(reply) << attempt;
    EXPECT_EQ(*reply, refused) << attempt;
    turned_away.push_back(std::move(w));
  }
  EXPECT_EQ(node.status().registered_slots, 0u);
  EXPECT_TRUE(log.contains("answered BAD_PACKET (Missing or wrong worker token)")) << log.text();
  EXPECT_EQ(log.text().find(token), std::string::npos) << "the token must never be logged";

  raw_peer worker{node.worker_tcp};
  worker.send(register_with(3, token));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 3 && s.workers == 6; }));
  raw_peer client{node.client_tcp};
  for (int i = 0; i < 3; ++i) {
    auto cookie = new_cookie();
    client.send(original_run(cookie, "echo", "{}"));
    auto run = worker.receive();
    ASSERT_TRUE(run);
    EXPECT_EQ(field(*run, "cookie"), cookie);
    worker.send(original_result(cookie, "{}"));
    auto result = client.receive();
    ASSERT_TRUE(result);
    EXPECT_EQ(field(*result, "rc"), "OK");
    EXPECT_EQ(result->find(token), std::string::npos);
  }
  // The refused workers are still connected, got nothing more, and hold no slot.
  for (auto& w : turned_away)
    EXPECT_FALSE(w.receive(100));
}

TEST(SocketWorkerToken, WithoutTheSettingWorkersRegisterAsBefore) {
  test_node node;
  raw_peer original{node.worker_tcp};
  original.send(original_register(1));
  raw_peer with_token{node.worker_unix};
  with_token.send(register_with(2, "anything")); // an extension field, ignored
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 3; }));
  EXPECT_FALSE(original.receive(100));
  EXPECT_FALSE(with_token.receive(100));
}

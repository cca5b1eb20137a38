// first-packet-timeout over real sockets: a connection that has not sent one whole packet within
// the timeout is closed (nothing sent, or half a frame), one that sent a packet in time stays.

#include "rcbroker/protocol/frame.hpp"
#include "log_capture.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <sstream>
#include <thread>

using namespace rcbroker::test_support;
using namespace std::chrono_literals;

namespace {

void short_first_packet_timeout(rcbroker::node::settings& s) {
  s.first_packet_timeout = 300ms;
}

/// The captured line that contains `text` ("" when none does).
std::string line_with(const log_capture& log, const std::string& text) {
  std::istringstream lines{log.text()};
  for (std::string line; std::getline(lines, line);)
    if (line.find(text) != std::string::npos)
      return line;
  return {};
}

// Whether `peer` is answered: a CANCEL of an unknown cookie always is.
bool answered(raw_peer& peer) {
  peer.send(original_cancel(new_cookie()));
  auto reply = peer.receive(2000);
  return reply && field(*reply, "rc") == "COOKIE_NOT_FOUND";
}

} // namespace

TEST(SocketFirstPacketTimeout, ASilentConnectionIsClosedAfterTheTimeoutAndLoggedAtInfo) {
  log_capture log;
  test_node node{short_first_packet_timeout};
  auto lived = connection_lifetime(node.client_tcp);
  ASSERT_TRUE(lived) << "a silent connection was not closed";
  EXPECT_GE(*lived, 290ms) << "closed before the timeout";
  EXPECT_LT(*lived, 2500ms);
  auto reason = "disconnected: no complete packet within 300ms of connecting "
                "(first-packet-timeout)";
  ASSERT_TRUE(log.contains(reason)) << log.text();
  auto line = line_with(log, reason);
  EXPECT_NE(line.find("info"), std::string::npos) << line;
  EXPECT_NE(line.find("client#"), std::string::npos) << "names the peer: " << line;
  EXPECT_NE(line.find("(tcp 127.0.0.1:"), std::string::npos) << "names the peer: " << line;
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.clients == 0; }));
}

TEST(SocketFirstPacketTimeout, HalfAFrameIsClosedToo) {
  test_node node{short_first_packet_timeout};
  // The length prefix of a whole REGISTER, then only half of its payload.
  auto whole = rcbroker::protocol::encode_frame(original_register(1));
  auto lived = connection_lifetime(node.worker_unix, whole.substr(0, 4 + (whole.size() - 4) / 2));
  ASSERT_TRUE(lived) << "a connection that sent half a frame was not closed";
  EXPECT_GE(*lived, 290ms) << "closed before the timeout";
  EXPECT_EQ(node.status().registered_slots, 0u);
}

TEST(SocketFirstPacketTimeout, PeersThatSentAPacketInTimeStay) {
  test_node node{short_first_packet_timeout};
  raw_peer client{node.client_unix};
  ASSERT_TRUE(answered(client));
  raw_peer worker{node.worker_tcp};
  worker.send(original_register(1));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  // Long past the timeout both are still connected (no idle-timeout is set): the client is
  // answered, the worker keeps its slot.
  EXPECT_FALSE(client.closed_by_peer(800));
  EXPECT_TRUE(answered(client));
  EXPECT_EQ(node.status().registered_slots, 1u);
  EXPECT_EQ(node.status().workers, 1u);
}

TEST(SocketFirstPacketTimeout, TenSecondsByDefaultAndZeroTurnsItOff) {
  EXPECT_EQ(rcbroker::node::settings{}.first_packet_timeout, 10s);
  test_node node{[](rcbroker::node::settings& s) { s.first_packet_timeout = 0ms; }};
  raw_peer silent{node.client_tcp};
  EXPECT_FALSE(silent.closed_by_peer(700));
  EXPECT_TRUE(answered(silent)) << "a silent connection was closed";
}

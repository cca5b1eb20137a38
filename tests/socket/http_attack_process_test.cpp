// A hostile HTTP client against a node process: thousands of bad and good requests kept alive,
// requests dropped mid-task, pipelined requests never read, connections that send half a request.
// The node answers each, frees what each took, and an honest HTTP client's tasks still run.

#include "child_process.hpp"
#include "http_peer.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <chrono>
#include <future>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

using namespace rcbroker::test_support;
using namespace std::chrono_literals;

namespace {

// Runs one task from a fresh HTTP connection while `worker` answers it; the RESULT's rc.
std::string honest_task(const std::string& url, raw_peer& worker) {
  auto cookie = new_cookie();
  auto reply = std::async(std::launch::async, [&] {
    http_peer client{url};
    return client.post(original_run(cookie, "echo", R"({"honest": true})"));
  });
  auto run = worker.receive(10000);
  if (!run || field(*run, "cookie") != cookie)
    return "no RUN";
  worker.send(original_result(cookie, "1"));
  auto r = reply.get();
  return r.lines().empty() ? "no line" : field(r.lines().back(), "rc");
}

} // namespace

TEST(HttpAttackProcess, FloodsOfRequestsAreAnsweredFreedAndSpareHonestClients) {
  temp_dir dir;
  auto port = std::to_string(free_tcp_port());
  auto url = "http://127.0.0.1:" + port;
  auto w = "socket://" + dir.path + "/w.sock";
  child_process node{
      RCBROKER_BINARY,
      {"--serve", url, "--listen", w, "--max-frame-size", "64KiB", "--first-packet-timeout", "2s"},
      dir.path + "/node.log"};
  ASSERT_TRUE(node.log_contains("rcbroker ready")) << node.log();
  raw_peer worker{w};
  worker.send(original_register(4));
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(honest_task(url, worker), "OK");
  auto before = rss_kib(node.pid());

  // 1. One kept-alive connection: 2000 requests with wrong paths and bad packets.
  {
    http_peer peer{url};
    for (int i = 0; i < 1000; ++i) {
      ASSERT_EQ(peer.post("{}", "/nope").status, 404u) << i;
      auto r =
          peer.post(R"({"packet_type":"RUN","cookie":")" + new_cookie() + R"(","pipeline":[]})");
      ASSERT_EQ(r.status, 200u) << i;
      ASSERT_EQ(field(r.lines().at(0), "rc"), "BAD_PACKET") << i;
    }
  }
  // 2. 300 clients that post a RUN and go away before the RESULT.
  for (int i = 0; i < 300; ++i) {
    http_peer peer{url};
    peer.send_request(original_run(new_cookie(), "slow", "{}"));
    auto run = worker.receive(10000);
    ASSERT_TRUE(run) << i;
    peer.close();
    worker.send(original_result(field(*run, "cookie"), "1")); // dropped: the client is gone
  }
  // 3. 500 pipelined requests on one connection that never reads, then leaves.
  {
    http_peer peer{url};
    std::string pipelined;
    for (int i = 0; i < 500; ++i) {
      // Each a packet with a cookie and nothing else: a RESULT BAD_PACKET each, kept alive.
      auto body = R"({"cookie":")" + new_cookie() + R"("})";
      pipelined += "POST /v1/stream/stream HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    peer.send_raw(pipelined);
    std::this_thread::sleep_for(200ms);
  }
  // 4. 100 connections that send half a request and wait.
  {
    std::vector<http_peer> half;
    for (int i = 0; i < 100; ++i) {
      half.emplace_back(url);
      half.back().send_raw("POST /v1/stream/stream HTTP/1.1\r\nContent-Length: 100\r\n\r\n{");
    }
    ASSERT_EQ(honest_task(url, worker), "OK"); // while they wait
    for (auto& peer : half)
      EXPECT_TRUE(peer.closed_by_peer(5000)) << "the first-packet timeout closes them";
  }
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(honest_task(url, worker), "OK") << i;
  auto after = rss_kib(node.pid());
  std::printf("node RSS: %zu KiB before, %zu KiB after the HTTP flood\n", before, after);
  if (!under_asan)
    EXPECT_LT(after, before + 16u * 1024u) << "what the flood took was not given back";
}

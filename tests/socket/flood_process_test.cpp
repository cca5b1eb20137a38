// A client that floods the node with frames as large as it accepts, each slow to parse, while an
// honest client and worker keep working: the node reads the flood one batch at a time
// (back-pressure), so its memory stays within max-frame-size + max-write-queue and a little,
// gives the memory back afterwards, and keeps serving the honest pair.

#include "rcbroker/protocol/frame.hpp"
#include "child_process.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <thread>

using namespace rcbroker::test_support;
using namespace std::chrono_literals;

namespace {

// A RUN of about `bytes` whose variables are one object of many small keys: valid JSON that
// takes the whole frame to check. Without a pipeline it is answered BAD_PACKET after the check.
std::string slow_packet(const std::string& cookie, std::size_t bytes) {
  std::string p = R"({"packet_type":"RUN","cookie":")" + cookie + R"(","variables":{)";
  for (std::size_t i = 0; p.size() + 16 < bytes; ++i)
    p += (i ? ",\"" : "\"") + std::to_string(i) + "\":" + std::to_string(i % 10);
  p += "}}";
  return p;
}

} // namespace

TEST(FloodProcess, LargeSlowFramesBoundTheNodesMemoryAndSpareHonestPeers) {
  temp_dir dir;
  auto c = "socket://" + dir.path + "/c.sock";
  auto w = "socket://" + dir.path + "/w.sock";
  child_process node{
      RCBROKER_BINARY,
      {"--serve", c, "--listen", w, "--max-frame-size", "4MiB", "--max-write-queue", "8MiB"},
      dir.path + "/node.log"};
  ASSERT_TRUE(node.log_contains("rcbroker ready")) << node.log();
  raw_peer worker{w};
  worker.send(original_register(4));
  raw_peer honest{c};
  ASSERT_NE(run_until_accepted(honest, worker), "");
  auto before = rss_kib(node.pid());

  // The attacker writes 24 frames of ~4 MiB (about 100 MiB) and never reads its answers.
  constexpr int frames = 24;
  auto payload = slow_packet(new_cookie(), 4 * 1024 * 1024 - 64);
  std::atomic<bool> attack_done{false};
  std::thread attacker{[&] {
    raw_peer flood{c};
    for (int i = 0; i < frames; ++i)
      flood.send(payload);
    attack_done = true;
    // Stays connected until the node has read everything, then leaves abruptly.
    flood.receive(30000);
  }};

  std::size_t peak = before;
  double worst_ms = 0;
  int honest_runs = 0;
  while (!attack_done || honest_runs < 20) {
    auto cookie = new_cookie();
    auto start = std::chrono::steady_clock::now();
    honest.send(original_run(cookie, "echo", R"({"honest": true})"));
    auto run = worker.receive(10000);
    ASSERT_TRUE(run) << "the worker got no RUN while the flood went on";
    ASSERT_EQ(field(*run, "cookie"), cookie);
    worker.send(original_result(cookie, R"({"honest": true})"));
    auto result = honest.receive(10000);
    ASSERT_TRUE(result);
    ASSERT_EQ(field(*result, "rc"), "OK");
    worst_ms =
        std::max(worst_ms,
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
    ++honest_runs;
    peak = std::max(peak, rss_kib(node.pid()));
    std::this_thread::sleep_for(5ms);
  }
  attacker.join();
  std::this_thread::sleep_for(300ms);
  auto after = rss_kib(node.pid());
  std::printf("node RSS: %zu KiB before, %zu KiB peak during the flood, %zu KiB after; "
              "%d honest runs, slowest %.1f ms\n",
              before, peak, after, honest_runs, worst_ms);
  // The large frames are checked off the I/O thread (the frame reader): an honest task never
  // waits for one (each takes tens of milliseconds to check).
  EXPECT_LT(worst_ms, under_asan ? 2000.0 : 300.0);
  if (!under_asan) {
    // 4 MiB being read + 8 MiB of write queue + the parser's buffers: far below the 100 MiB sent.
    EXPECT_LT(peak - before, 48u * 1024u) << "peak " << peak << " KiB, before " << before;
    EXPECT_LT(after, before + 8u * 1024u) << "the flood's memory was not given back";
  }
}

TEST(FloodProcess, LargeFramesKeepTheirOrderAmongSmallOnes) {
  temp_dir dir;
  auto c = "socket://" + dir.path + "/c.sock";
  auto w = "socket://" + dir.path + "/w.sock";
  child_process node{RCBROKER_BINARY, {"--serve", c, "--listen", w}, dir.path + "/node.log"};
  ASSERT_TRUE(node.log_contains("rcbroker ready")) << node.log();
  raw_peer worker{w};
  worker.send(original_register(8));
  raw_peer client{c};
  ASSERT_NE(run_until_accepted(client, worker), "");
  // Small, large (read by the frame reader), small, large: the worker gets them in this order.
  std::string big_variables = "{\"blob\": \"" + std::string(300 * 1024, 'x') + "\"}";
  std::vector<std::string> cookies;
  std::string wire;
  for (int i = 0; i < 4; ++i) {
    cookies.push_back(new_cookie());
    auto run = original_run(cookies.back(), "echo", i % 2 ? big_variables : "{}");
    auto prefix = rcbroker::protocol::encode_length(static_cast<std::uint32_t>(run.size()));
    wire.append(reinterpret_cast<const char*>(prefix.data()), prefix.size());
    wire += run;
  }
  client.send_raw(wire); // one write: the node reads them as one batch (or a few)
  for (int i = 0; i < 4; ++i) {
    auto run = worker.receive(10000);
    ASSERT_TRUE(run) << "RUN " << i << " did not arrive";
    EXPECT_EQ(field(*run, "cookie"), cookies[i]) << "RUN " << i << " out of order";
    if (i % 2)
      EXPECT_GT(run->size(), 300u * 1024u);
  }
}

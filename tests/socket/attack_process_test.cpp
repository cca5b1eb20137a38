// The second round of attacks on the wire, each against a node process, asserting what honest
// peers got and what the node kept: a CANCEL flood, a worker lying about its capacity and never
// answering, many connections from one host, and REGISTERs with wrongly typed capacities.

#include "child_process.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

using namespace rcbroker::test_support;
using namespace std::chrono_literals;

namespace {

/// A node process on Unix sockets in `dir`, with `extra` flags.
struct node_process {
  std::string client_url;
  std::string worker_url;
  child_process process;

  node_process(const temp_dir& dir, std::vector<std::string> extra)
      : client_url("socket://" + dir.path + "/c.sock"),
        worker_url("socket://" + dir.path + "/w.sock"),
        process(RCBROKER_BINARY, with_endpoints(client_url, worker_url, std::move(extra)),
                dir.path + "/node.log") {}

  static std::vector<std::string> with_endpoints(const std::string& c, const std::string& w,
                                                 std::vector<std::string> extra) {
    std::vector<std::string> args{"--serve", c, "--listen", w};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

/// A CANCEL for `cookie` padded with an unknown field to about `bytes`.
std::string padded_cancel(const std::string& cookie, std::size_t bytes) {
  return R"({"packet_type":"CANCEL","cookie":")" + cookie + R"(","padding":")" +
         std::string(bytes, 'x') + R"("})";
}

/// Waits until everything `client` sent before has been handled: a CANCEL of an unknown cookie
/// is answered COOKIE_NOT_FOUND after them.
bool drained(raw_peer& client) {
  auto probe = new_cookie();
  client.send(original_cancel(probe));
  for (int i = 0; i < 100; ++i) {
    auto reply = client.receive(10000);
    if (!reply)
      return false;
    if (field(*reply, "cookie") == probe)
      return field(*reply, "rc") == "COOKIE_NOT_FOUND";
  }
  return false;
}

} // namespace

TEST(AttackProcess, RepeatedLargeCancelsReachTheWorkerOnceAndSpareItsOtherTasks) {
  temp_dir dir;
  node_process node{dir, {}};
  ASSERT_TRUE(node.process.log_contains("rcbroker ready")) << node.process.log();
  raw_peer worker{node.worker_url};
  worker.send(original_register(3));
  raw_peer honest{node.client_url};
  auto warm = run_until_accepted(honest, worker);
  ASSERT_NE(warm, "");
  worker.send(original_result(warm, "{}"));
  ASSERT_TRUE(honest.receive());
  auto before = rss_kib(node.process.pid());

  // Two honest tasks and the attacker's share the worker, which reads nothing meanwhile.
  raw_peer attacker{node.client_url};
  std::vector<std::string> honest_cookies{new_cookie(), new_cookie()};
  for (auto& c : honest_cookies)
    honest.send(original_run(c, "echo", "{}"));
  auto target = new_cookie();
  attacker.send(original_run(target, "echo", "{}"));
  // 64 CANCELs of 2 MiB: 128 MiB if each were passed on, twice the worker's write queue.
  auto cancel = padded_cancel(target, 2 * 1024 * 1024);
  for (int i = 0; i < 64; ++i)
    attacker.send(cancel);
  ASSERT_TRUE(drained(attacker));
  auto peak = rss_kib(node.process.pid());

  // The worker gets the three RUNs and one CANCEL, then answers every task.
  int runs = 0, cancels = 0;
  while (auto frame = worker.receive(500)) {
    auto type = field(*frame, "packet_type");
    runs += type == "RUN";
    cancels += type == "CANCEL";
  }
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(cancels, 1) << "63 repeated CANCELs reached the worker";
  for (auto& c : honest_cookies)
    worker.send(original_result(c, R"({"honest": true})"));
  for (std::size_t i = 0; i < honest_cookies.size(); ++i) {
    auto result = honest.receive();
    ASSERT_TRUE(result) << "an honest task got no answer";
    EXPECT_EQ(field(*result, "rc"), "OK") << *result;
  }
  attacker.close();
  std::this_thread::sleep_for(300ms);
  auto after = rss_kib(node.process.pid());
  std::printf("node RSS: %zu KiB before, %zu KiB after the flood was read, %zu KiB after\n",
              static_cast<std::size_t>(before), static_cast<std::size_t>(peak),
              static_cast<std::size_t>(after));
  if (!under_asan) {
    EXPECT_LT(peak, before + 24u * 1024u) << "the flood's CANCELs were kept";
    EXPECT_LT(after, before + 8u * 1024u) << "the flood's memory was not given back";
  }
}

TEST(AttackProcess, AWorkerLyingAboutItsCapacityCannotCaptureTheTasks) {
  temp_dir dir;
  node_process node{dir, {"--max-worker-capacity", "8", "--max-task-duration", "1s"}};
  ASSERT_TRUE(node.process.log_contains("rcbroker ready")) << node.process.log();
  // The liar asks for every slot there is, then for the most it may have, and answers nothing.
  raw_peer liar{node.worker_url};
  liar.send(R"({"packet_type":"REGISTER","cookie":null,"capacity":4294967295})");
  auto refusal = liar.receive();
  ASSERT_TRUE(refusal);
  EXPECT_EQ(field(*refusal, "rc"), "BAD_PACKET");
  EXPECT_NE(field(*refusal, "error").find("max-worker-capacity 8"), std::string::npos) << *refusal;
  liar.send(original_register(8));
  raw_peer honest_worker{node.worker_url};
  honest_worker.send(original_register(2));

  std::atomic<bool> stop{false};
  std::thread answering{[&] {
    while (!stop) {
      auto run = honest_worker.receive(100);
      if (run && field(*run, "packet_type") == "RUN")
        honest_worker.send(original_result(field(*run, "cookie"), "{}"));
    }
  }};
  raw_peer client{node.client_url};
  int ok = 0, timed_out = 0, other = 0, not_yet = 0;
  for (int i = 0; i < 40; ++i) {
    auto cookie = new_cookie();
    auto start = std::chrono::steady_clock::now();
    client.send(original_run(cookie, "echo", "{}"));
    auto result = client.receive(3000);
    ASSERT_TRUE(result) << "RUN " << i << " got no answer";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    auto rc = field(*result, "rc");
    if (rc == "NO_CAPACITY" && ok + timed_out == 0 && ++not_yet < 200) {
      // The REGISTERs may still be on their way: one RUN at a time never fills the slots.
      std::this_thread::sleep_for(10ms);
      --i;
      continue;
    }
    if (rc == "OK")
      ++ok;
    else if (rc == "EXCEPTION" && field(*result, "error").rfind("Timed out", 0) == 0)
      ++timed_out;
    else
      ++other;
  }
  stop = true;
  answering.join();
  std::printf("40 RUNs: %d OK, %d timed out on the liar, %d other\n", ok, timed_out, other);
  EXPECT_LE(timed_out, 8) << "the liar held more than the 8 slots it may have";
  EXPECT_EQ(ok + timed_out, 40);
  EXPECT_EQ(other, 0);
}

TEST(AttackProcess, ManyConnectionsFromOneHostShareMaxRunsPerAddress) {
  temp_dir dir;
  auto port = free_tcp_port();
  auto tcp = "tcp://127.0.0.1:" + std::to_string(port);
  node_process node{dir,
                    {"--serve", tcp, "--max-runs-per-address", "4", "--max-runs-per-client", "10"}};
  ASSERT_TRUE(node.process.log_contains("rcbroker ready")) << node.process.log();
  raw_peer worker{node.worker_url};
  worker.send(original_register(100));
  // A Unix-socket client (another host) waits until the slots are there.
  raw_peer local{node.client_url};
  ASSERT_NE(run_until_accepted(local, worker), "");
  std::vector<raw_peer> connections;
  for (int i = 0; i < 3; ++i)
    connections.emplace_back(tcp);
  int refused = 0;
  for (auto& c : connections) {
    for (int k = 0; k < 2; ++k) {
      c.send(original_run(new_cookie(), "echo", "{}"));
      if (auto reply = c.receive(300)) {
        EXPECT_EQ(field(*reply, "rc"), "NO_CAPACITY");
        EXPECT_EQ(field(*reply, "error"),
                  "Too many runs in flight from this address (max-runs-per-address 4)");
        ++refused;
      }
    }
  }
  EXPECT_EQ(refused, 2) << "6 RUNs from one host, 4 allowed";
}

TEST(AttackProcess, ARegisterWithAWronglyTypedCapacityGetsBadPacketAndTheConnectionStays) {
  temp_dir dir;
  node_process node{dir, {}};
  ASSERT_TRUE(node.process.log_contains("rcbroker ready")) << node.process.log();
  raw_peer worker{node.worker_url};
  for (std::string capacity : {R"("8")", "1.5", "true", "[8]"}) {
    worker.send(R"({"packet_type":"REGISTER","cookie":null,"capacity":)" + capacity + "}");
    auto reply = worker.receive();
    ASSERT_TRUE(reply) << "capacity " << capacity << ": no answer (closed?)";
    EXPECT_EQ(field(*reply, "rc"), "BAD_PACKET") << *reply;
    EXPECT_EQ(field(*reply, "error"), "field 'capacity' must be an integer") << *reply;
  }
  worker.send(original_register(1));
  raw_peer client{node.client_url};
  auto cookie = run_until_accepted(client, worker);
  EXPECT_NE(cookie, "") << "the worker's slot never came after the bad REGISTERs";
}

// Three rcbroker processes clustered on loopback, started and stopped by the test.

#include "child_process.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <csignal>
#include <filesystem>
#include <gtest/gtest.h>
#include <set>

using namespace rcbroker::test_support;

namespace {

// One rcbroker process: Unix sockets for clients and workers in `dir`, a cluster port, peers.
struct node_process {
  std::string name;
  std::string dir;
  std::uint16_t cluster_port;
  std::vector<std::uint16_t> peer_ports;
  std::unique_ptr<child_process> process;
  int starts = 0;

  std::string client_url() const { return "socket://" + dir + "/" + name + "-c.sock"; }
  std::string worker_url() const { return "socket://" + dir + "/" + name + "-w.sock"; }

  void start() {
    std::vector<std::string> args{"--config",       RCBROKER_SOURCE_DIR "/caf-application.conf",
                                  "--serve",        client_url(),
                                  "--listen",       worker_url(),
                                  "--cluster-port", std::to_string(cluster_port),
                                  "--node-name",    name,
                                  "--log-level",    "debug"};
    for (auto port : peer_ports) {
      args.push_back("--peer");
      args.push_back("127.0.0.1:" + std::to_string(port));
    }
    // A log per start: a restarted node must not be taken as ready by the old log's line.
    auto log = dir + "/" + name + "-" + std::to_string(++starts) + ".log";
    process = std::make_unique<child_process>(RCBROKER_BINARY, args, log);
    ASSERT_TRUE(process->log_contains("rcbroker ready")) << process->log();
  }
};

struct three_node_mesh : ::testing::Test {
  std::string dir = make_temp_dir();
  std::uint16_t ports[3] = {free_tcp_port(), free_tcp_port(), free_tcp_port()};
  node_process a{"A", dir, ports[0], {ports[1], ports[2]}, nullptr, 0};
  node_process b{"B", dir, ports[1], {ports[0], ports[2]}, nullptr, 0};
  node_process c{"C", dir, ports[2], {ports[0], ports[1]}, nullptr, 0};

  void SetUp() override {
    a.start();
    b.start();
    c.start();
  }

  ~three_node_mesh() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

} // namespace

TEST_F(three_node_mesh, WorkersOnlyOnCServeAClientOnA) {
  raw_peer worker{c.worker_url()};
  worker.send(original_register(4));
  raw_peer client{a.client_url()};
  auto first = run_until_accepted(client, worker);
  ASSERT_FALSE(first.empty()) << a.process->log();
  worker.send(original_result(first, "\"first\""));
  EXPECT_EQ(field(*client.receive(), "result"), "\"first\"");
  // Then several at once, each result back to the client byte for byte.
  std::set<std::string> cookies;
  for (int i = 0; i < 4; ++i) {
    auto cookie = new_cookie();
    cookies.insert(cookie);
    client.send(original_run(cookie, "echo", "{}"));
  }
  for (int i = 0; i < 4; ++i) {
    auto run = worker.receive();
    ASSERT_TRUE(run);
    auto cookie = field(*run, "cookie");
    worker.send(original_result(cookie, "{}"));
  }
  std::set<std::string> answered;
  for (int i = 0; i < 4; ++i) {
    auto result = client.receive();
    ASSERT_TRUE(result);
    EXPECT_EQ(field(*result, "rc"), "OK");
    answered.insert(field(*result, "cookie"));
  }
  EXPECT_EQ(answered, cookies);
}

TEST_F(three_node_mesh, NodeKilledMidTaskEndsExactlyItsTasksAndRejoinsAfterRestart) {
  raw_peer worker_c{c.worker_url()};
  worker_c.send(original_register(2));
  raw_peer worker_b{b.worker_url()};
  raw_peer client{a.client_url()};
  auto on_c = run_until_accepted(client, worker_c);
  ASSERT_FALSE(on_c.empty());
  // A task on B too, which must survive C's death.
  worker_b.send(original_register(1));
  std::string on_b;
  for (int i = 0; i < 100 && on_b.empty(); ++i) {
    auto cookie = new_cookie();
    client.send(original_run(cookie, "echo", "{}"));
    if (auto run = worker_b.receive(100)) {
      on_b = field(*run, "cookie");
    } else if (auto run_c = worker_c.receive(10)) {
      // It went to C's second slot: keep it as a second task behind C.
      on_c += "," + field(*run_c, "cookie");
    } else {
      auto reply = client.receive(500);
      ASSERT_TRUE(reply);
      ASSERT_EQ(field(*reply, "rc"), "NO_CAPACITY");
    }
  }
  ASSERT_FALSE(on_b.empty());
  std::set<std::string> behind_c;
  for (std::size_t pos = 0, next; pos != std::string::npos; pos = next) {
    next = on_c.find(',', pos);
    behind_c.insert(on_c.substr(pos, next == std::string::npos ? next : next - pos));
    if (next != std::string::npos)
      ++next;
  }
  c.process->signal(SIGKILL);
  c.process->wait();
  std::set<std::string> went_away;
  for (std::size_t i = 0; i < behind_c.size(); ++i) {
    auto reply = client.receive();
    ASSERT_TRUE(reply);
    EXPECT_EQ(field(*reply, "rc"), "WORKER_WENT_AWAY");
    went_away.insert(field(*reply, "cookie"));
  }
  EXPECT_EQ(went_away, behind_c);
  EXPECT_FALSE(client.receive(300)) << "nothing else is reported";
  worker_b.send(original_result(on_b, "\"b\""));
  auto from_b = client.receive();
  ASSERT_TRUE(from_b);
  EXPECT_EQ(field(*from_b, "rc"), "OK");
  EXPECT_EQ(field(*from_b, "cookie"), on_b);

  // C comes back on the same cluster port: A links to it again and uses it.
  worker_b.close();
  c.start();
  raw_peer worker_c2{c.worker_url()};
  worker_c2.send(original_register(1));
  auto again = run_until_accepted(client, worker_c2);
  EXPECT_FALSE(again.empty()) << a.process->log();
}

TEST_F(three_node_mesh, CancelFromAReachesTheWorkerOnC) {
  raw_peer worker{c.worker_url()};
  worker.send(original_register(1));
  raw_peer client{a.client_url()};
  auto cookie = run_until_accepted(client, worker);
  ASSERT_FALSE(cookie.empty());
  client.send(original_cancel(cookie));
  EXPECT_EQ(worker.receive(), original_cancel(cookie));
  worker.send(original_result(cookie, "null"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "cookie"), cookie);
}

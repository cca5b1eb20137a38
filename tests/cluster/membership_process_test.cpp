// rcbroker processes joining a cluster through one seed, with and without TLS, and a node's
// cluster port under attack: multi-process tests on loopback.

#include "child_process.hpp"
#include "raw_peer.hpp"
#include "test_certificate.hpp"
#include "test_node.hpp"

#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <gtest/gtest.h>
#include <thread>

using namespace rcbroker::test_support;

namespace {

/// Occurrences of `text` in `log`.
std::size_t count_of(const std::string& log, const std::string& text) {
  std::size_t n = 0;
  for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1))
    ++n;
  return n;
}

/// One rcbroker process with Unix sockets for clients and workers and a cluster port.
struct member_process {
  std::string name;
  std::string dir;
  std::uint16_t cluster_port = free_tcp_port();
  std::vector<std::string> extra;
  std::unique_ptr<child_process> process;

  std::string client_url() const { return "socket://" + dir + "/" + name + "-c.sock"; }
  std::string worker_url() const { return "socket://" + dir + "/" + name + "-w.sock"; }
  std::string address() const { return "127.0.0.1:" + std::to_string(cluster_port); }

  void start() {
    std::vector<std::string> args{"--config",       RCBROKER_SOURCE_DIR "/caf-application.conf",
                                  "--serve",        client_url(),
                                  "--listen",       worker_url(),
                                  "--cluster-port", std::to_string(cluster_port),
                                  "--node-name",    name};
    args.insert(args.end(), extra.begin(), extra.end());
    process = std::make_unique<child_process>(RCBROKER_BINARY, args, dir + "/" + name + ".log");
    ASSERT_TRUE(process->log_contains("rcbroker ready")) << process->log();
  }

  /// Waits up to `ms` until the log says it linked with `n` members.
  bool linked_with(std::size_t n, int ms = 15000) const {
    for (int waited = 0; waited < ms; waited += 50) {
      if (count_of(process->log(), "cluster: linked with member") >= n)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    return false;
  }
};

/// A RUN that crosses a (TLS) link on a loaded machine may take far longer than a local one.
constexpr int crossing_ms = 1000;

/// Sends a RUN from `client` until `worker` takes one, answers it and checks the RESULT.
void expect_served(raw_peer& client, raw_peer& worker, const std::string& what) {
  auto cookie = run_until_accepted(client, worker, crossing_ms);
  ASSERT_FALSE(cookie.empty()) << what;
  worker.send(original_result(cookie, "\"ok\""));
  auto result = client.receive();
  ASSERT_TRUE(result) << what;
  EXPECT_EQ(field(*result, "rc"), "OK") << what;
  EXPECT_EQ(field(*result, "cookie"), cookie) << what;
}

} // namespace

TEST(ClusterMembership, FiveNodesJoinedThroughOneSeedFormAMeshThatOutlivesTheSeed) {
  temp_dir dir;
  std::vector<member_process> nodes;
  for (auto name : {"A", "B", "C", "D", "E"})
    nodes.push_back(member_process{name, dir.path, free_tcp_port(), {}, nullptr});
  for (std::size_t i = 1; i < nodes.size(); ++i)
    nodes[i].extra = {"--peer", nodes[0].address()};
  for (auto& n : nodes)
    n.start();
  for (auto& n : nodes)
    EXPECT_TRUE(n.linked_with(4)) << n.name << " links to every other node\n" << n.process->log();

  // Workers on E serve a client on B, which never named E.
  raw_peer worker_e{nodes[4].worker_url()};
  worker_e.send(original_register(2));
  raw_peer client_b{nodes[1].client_url()};
  expect_served(client_b, worker_e, "B's client on E's worker");

  // A task between B and E is under way when the seed dies: it completes.
  auto open = run_until_accepted(client_b, worker_e, crossing_ms);
  ASSERT_FALSE(open.empty());
  nodes[0].process->signal(SIGKILL);
  nodes[0].process->wait();
  worker_e.send(original_result(open, "\"survived\""));
  auto result = client_b.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "result"), "\"survived\"");

  // The others stay linked: each lost exactly the seed, and C's client reaches D's worker.
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    EXPECT_TRUE(nodes[i].process->log_contains("cluster: lost member")) << nodes[i].name;
    std::this_thread::sleep_for(std::chrono::milliseconds{200}); // time for a wrong second one
    auto log = nodes[i].process->log();
    EXPECT_EQ(count_of(log, "cluster: lost member"), 1u) << nodes[i].name << "\n" << log;
  }
  worker_e.close(); // so that C's RUN can only go to D
  raw_peer worker_d{nodes[3].worker_url()};
  worker_d.send(original_register(1));
  raw_peer client_c{nodes[2].client_url()};
  expect_served(client_c, worker_d, "C's client on D's worker after the seed died");
}

TEST(ClusterMembership, TlsLinksOnlyNodesTheClusterCaSigned) {
  temp_dir dir;
  auto cluster = make_self_signed(dir.path, "cluster");
  auto stranger = make_self_signed(dir.path, "stranger");
  auto tls_args = [](const test_certificate& c) {
    return std::vector<std::string>{"--cluster-tls-cert", c.cert, "--cluster-tls-key", c.key,
                                    "--cluster-tls-ca",   c.cert};
  };
  member_process a{"A", dir.path, free_tcp_port(), {}, nullptr};
  a.extra = tls_args(cluster);
  a.start();
  member_process b{"B", dir.path, free_tcp_port(), {}, nullptr};
  b.extra = tls_args(cluster);
  b.extra.insert(b.extra.end(), {"--peer", a.address()});
  b.start();
  member_process x{"X", dir.path, free_tcp_port(), {}, nullptr};
  x.extra = tls_args(stranger);
  x.extra.insert(x.extra.end(), {"--peer", a.address(), "--log-level", "debug"});
  x.start();

  ASSERT_TRUE(a.linked_with(1)) << a.process->log();
  ASSERT_TRUE(b.linked_with(1)) << b.process->log();
  EXPECT_TRUE(x.process->log_contains("cannot reach member")) << x.process->log();
  std::this_thread::sleep_for(std::chrono::milliseconds{1500}); // a few retries with backoff
  EXPECT_EQ(count_of(a.process->log(), "cluster: linked with member"), 1u)
      << "A linked with B only\n"
      << a.process->log();
  EXPECT_EQ(count_of(x.process->log(), "cluster: linked with member"), 0u) << x.process->log();
  EXPECT_GE(count_of(x.process->log(), "cannot reach member"), 2u) << "retried and logged";
  // CAF's OpenSSL module left a failed handshake's errors for the next read of another
  // connection, which then closed: the stranger's attempts must not drop A and B's link.
  EXPECT_EQ(count_of(a.process->log(), "cluster: lost member"), 0u) << a.process->log();

  // Over the TLS link, A's client is served by B's worker.
  raw_peer worker{b.worker_url()};
  worker.send(original_register(1));
  raw_peer client{a.client_url()};
  expect_served(client, worker, "A's client on B's worker over TLS");
  if (HasFailure())
    ADD_FAILURE() << "A:\n" << a.process->log() << "\nB:\n" << b.process->log();
}

TEST(ClusterMembership, AnAnnouncedHugeMessageCostsNoMoreThanTheCap) {
  temp_dir dir;
  member_process a{"A", dir.path, free_tcp_port(), {}, nullptr};
  a.extra = {"--cluster-max-connections", "4"};
  a.start();
  member_process b{"B", dir.path, free_tcp_port(), {}, nullptr};
  b.extra = {"--peer", a.address()};
  b.start();
  ASSERT_TRUE(b.linked_with(1));
  raw_peer worker{a.worker_url()};
  worker.send(original_register(1));
  raw_peer client{b.client_url()};
  expect_served(client, worker, "before the attack");

  auto rss_before = rss_kib(a.process->pid());
  // One BASP header (32 bytes, network order): a direct message to actor 1 of 1 GiB.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket attacker{ioc};
  attacker.connect({boost::asio::ip::make_address("127.0.0.1"), a.cluster_port});
  std::array<unsigned char, 32> header{};
  header[0] = 0x02;  // direct_message
  header[4] = 0x40;  // payload_len = 0x40000000
  header[31] = 0x01; // dest_actor = 1
  boost::asio::write(attacker, boost::asio::buffer(header));
  ASSERT_TRUE(a.process->log_contains("announced a message of 1073741824 bytes"))
      << a.process->log();
  // The node closed that connection.
  std::array<char, 4096> sink{};
  boost::system::error_code ec;
  for (int i = 0; i < 100 && !ec; ++i)
    attacker.read_some(boost::asio::buffer(sink), ec);
  EXPECT_TRUE(ec) << "the attacker's connection ends";
  if (!under_asan) {
    EXPECT_LT(rss_kib(a.process->pid()), rss_before + 64 * 1024)
        << "no gigabyte allocated for the announced payload";
  }

  // More connections than cluster-max-connections are closed at once.
  std::vector<boost::asio::ip::tcp::socket> flood;
  for (int i = 0; i < 8; ++i) {
    flood.emplace_back(ioc);
    flood.back().connect({boost::asio::ip::make_address("127.0.0.1"), a.cluster_port});
  }
  EXPECT_TRUE(a.process->log_contains("cluster connections are open")) << a.process->log();
  flood.clear();

  // The live link between A and B is untouched.
  expect_served(client, worker, "after the attack");
  EXPECT_EQ(count_of(b.process->log(), "cluster: lost member"), 0u) << b.process->log();
}

TEST(ClusterMembership, AClusterPortOtherMachinesReachNeedsTlsOrInsecure) {
  temp_dir dir;
  auto check = [&](std::vector<std::string> extra, const std::string& log_name) {
    std::vector<std::string> args{"--check-config", "--cluster-port", "51599", "--cluster-bind",
                                  "0.0.0.0"};
    args.insert(args.end(), extra.begin(), extra.end());
    child_process p{RCBROKER_BINARY, args, dir.path + "/" + log_name};
    auto code = p.wait().value_or(-1);
    return std::make_pair(code, p.log());
  };
  auto [refused, refused_log] = check({}, "refused.log");
  EXPECT_NE(refused, 0) << refused_log;
  EXPECT_NE(refused_log.find("--cluster-insecure"), std::string::npos) << refused_log;
  EXPECT_NE(refused_log.find("cluster-tls-cert"), std::string::npos) << refused_log;
  auto [allowed, allowed_log] = check({"--cluster-insecure"}, "allowed.log");
  EXPECT_EQ(allowed, 0) << allowed_log;
}

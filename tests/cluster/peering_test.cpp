// Two nodes in one process, each with its own actor system, linked through CAF's middleman:
// the Switchboard peering logic over real sockets.

#include "raw_peer.hpp"
#include "test_node.hpp"

#include <gtest/gtest.h>
#include <set>

using namespace rcbroker::test_support;

namespace {

std::unique_ptr<test_node> start_cluster_node(std::uint16_t port, std::vector<std::string> peers) {
  return std::make_unique<test_node>([&](rcbroker::node::settings& s) {
    s.cluster_port = port;
    s.cluster_peers = peers;
  });
}

/// Two nodes, A linked to B, and a worker on B that registered `capacity` slots: the set-up of
/// every test here. A learns of B's slots asynchronously (see `a_sees`).
struct two_nodes {
  explicit two_nodes(int capacity)
      : port_b(free_tcp_port()), b(start_cluster_node(port_b, {})),
        a(start_cluster_node(0, {"127.0.0.1:" + std::to_string(port_b)})), worker(b->worker_tcp) {
    worker.send(original_register(capacity));
  }

  /// Whether A comes to see `remote` free slots on B and `local` of its own.
  bool a_sees(std::uint64_t remote, std::uint64_t local = 0) {
    return a->wait_for([&](auto& s) {
      return s.cluster_links == 1 && s.cluster_free_slots == remote && s.free_slots == local;
    });
  }

  std::uint16_t port_b;
  std::unique_ptr<test_node> b;
  std::unique_ptr<test_node> a;
  raw_peer worker; ///< on B
};

} // namespace

TEST(ClusterPeering, RemoteWorkerServesALocalClientByteForByte) {
  two_nodes nodes{3};
  auto& [port_b, b, a, worker] = nodes;
  ASSERT_TRUE(nodes.a_sees(3)) << "A learns B's free slots";
  raw_peer client{a->client_unix};
  auto cookie = new_cookie();
  auto run = original_run(cookie, "echo", R"({"x": 1})", false);
  client.send(run);
  auto at_worker = worker.receive();
  ASSERT_TRUE(at_worker);
  EXPECT_EQ(*at_worker, run);
  auto result = original_result(cookie, "{\"ok\": true}");
  worker.send(result);
  EXPECT_EQ(client.receive(), result);
  EXPECT_TRUE(a->wait_for([](auto& s) { return s.routes == 0 && s.cluster_runs_sent == 1; }));
  EXPECT_TRUE(b->wait_for(
      [](auto& s) { return s.routes == 0 && s.cluster_runs_received == 1 && s.free_slots == 3; }));
}

TEST(ClusterPeering, LocalSlotsArePreferred) {
  two_nodes nodes{5};
  auto& [port_b, b, a, remote_worker] = nodes;
  raw_peer local_worker{a->worker_tcp};
  local_worker.send(original_register(2));
  ASSERT_TRUE(nodes.a_sees(5, 2));
  raw_peer client{a->client_tcp};
  for (int i = 0; i < 2; ++i)
    client.send(original_run(new_cookie(), "echo", "{}"));
  EXPECT_TRUE(local_worker.receive());
  EXPECT_TRUE(local_worker.receive());
  EXPECT_FALSE(remote_worker.receive(200)) << "no RUN crosses while a local slot is free";
  client.send(original_run(new_cookie(), "echo", "{}"));
  EXPECT_TRUE(remote_worker.receive()) << "with local slots busy, the peer's slot is used";
}

TEST(ClusterPeering, DetachedRunAcrossNodesFreesTheRemoteSlot) {
  two_nodes nodes{1};
  auto& [port_b, b, a, worker] = nodes;
  ASSERT_TRUE(nodes.a_sees(1));
  raw_peer client{a->client_tcp};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", "{}", true));
  ASSERT_TRUE(worker.receive());
  worker.send(original_result(cookie, "{}"));
  EXPECT_FALSE(client.receive(300)) << "a detached RUN gets no RESULT";
  EXPECT_TRUE(a->wait_for([](auto& s) { return s.routes == 0 && s.cluster_free_slots == 1; }));
}

TEST(ClusterPeering, PeerNodeGoingDownEndsOnlyTheTasksBehindIt) {
  two_nodes nodes{2};
  auto& [port_b, b, a, remote_worker] = nodes;
  raw_peer local_worker{a->worker_tcp};
  local_worker.send(original_register(1));
  ASSERT_TRUE(nodes.a_sees(2, 1));
  raw_peer client{a->client_tcp};
  auto local_cookie = new_cookie();
  client.send(original_run(local_cookie, "echo", "{}"));
  ASSERT_TRUE(local_worker.receive());
  std::set<std::string> remote_cookies{new_cookie(), new_cookie()};
  for (auto& c : remote_cookies)
    client.send(original_run(c, "echo", "{}"));
  ASSERT_TRUE(remote_worker.receive());
  ASSERT_TRUE(remote_worker.receive());
  b.reset(); // node B stops: its Switchboard goes down
  std::set<std::string> went_away;
  for (int i = 0; i < 2; ++i) {
    auto reply = client.receive();
    ASSERT_TRUE(reply);
    EXPECT_EQ(field(*reply, "rc"), "WORKER_WENT_AWAY");
    went_away.insert(field(*reply, "cookie"));
  }
  EXPECT_EQ(went_away, remote_cookies);
  EXPECT_FALSE(client.receive(200)) << "nothing else is reported";
  local_worker.send(original_result(local_cookie, "1"));
  auto local_result = client.receive();
  ASSERT_TRUE(local_result);
  EXPECT_EQ(field(*local_result, "rc"), "OK");
  EXPECT_TRUE(a->wait_for([](auto& s) { return s.cluster_links == 0 && s.routes == 0; }));
}

TEST(ClusterPeering, ClientNodeGoingDownOrphansItsTasks) {
  two_nodes nodes{1};
  auto& [port_b, b, a, worker] = nodes;
  ASSERT_TRUE(nodes.a_sees(1));
  raw_peer client{a->client_tcp};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", "{}"));
  ASSERT_TRUE(worker.receive());
  a.reset();
  // B keeps the route until its worker answers, then drops the answer and frees the slot.
  EXPECT_TRUE(b->wait_for([](auto& s) { return s.routes == 1; }));
  worker.send(original_result(cookie, "{}"));
  EXPECT_TRUE(b->wait_for([](auto& s) { return s.routes == 0 && s.free_slots == 1; }));
}

TEST(ClusterPeering, CancelCrossesToTheWorker) {
  two_nodes nodes{1};
  auto& [port_b, b, a, worker] = nodes;
  raw_peer client{a->client_tcp};
  auto cookie = run_until_accepted(client, worker);
  ASSERT_FALSE(cookie.empty());
  client.send(original_cancel(cookie));
  EXPECT_EQ(worker.receive(), original_cancel(cookie));
  worker.send(original_result(cookie, "null"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "cookie"), cookie);
}

TEST(ClusterPeering, OneNamingTheOtherIsEnoughForBothWays) {
  // A names B; B names nobody: B's clients still reach A's workers.
  auto port_b = free_tcp_port();
  auto b = start_cluster_node(port_b, {});
  auto a = start_cluster_node(0, {"127.0.0.1:" + std::to_string(port_b)});
  raw_peer worker{a->worker_tcp};
  worker.send(original_register(2));
  ASSERT_TRUE(b->wait_for([](auto& s) {
    return s.cluster_links == 1 && s.cluster_free_slots == 2;
  })) << "B learns A's free slots over the link A made";
  raw_peer client{b->client_tcp};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", "{}"));
  auto run = worker.receive();
  ASSERT_TRUE(run);
  EXPECT_EQ(field(*run, "cookie"), cookie);
  worker.send(original_result(cookie, "\"from A\""));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "result"), "\"from A\"");
  EXPECT_TRUE(a->wait_for([](auto& s) { return s.cluster_links == 1; }))
      << "one link pair between two nodes, not two";
}

TEST(ClusterPeering, ThreeNodesInALineBecomeAMesh) {
  // C names B, B names A: nobody names C, and A names nobody, yet A and C link through gossip.
  auto port_a = free_tcp_port();
  auto port_b = free_tcp_port();
  auto a = start_cluster_node(port_a, {});
  auto b = start_cluster_node(port_b, {"127.0.0.1:" + std::to_string(port_a)});
  auto c = start_cluster_node(free_tcp_port(), {"127.0.0.1:" + std::to_string(port_b)});
  // Two rounds of dialling and greeting: allow for a loaded machine (wait_for gives 5 s a call).
  auto linked_to_both = [](auto& s) { return s.cluster_links == 2; };
  for (auto* n : {&a, &b, &c}) {
    bool linked = false;
    for (int i = 0; i < 4 && !linked; ++i)
      linked = (*n)->wait_for(linked_to_both);
    EXPECT_TRUE(linked) << "every node links to both others";
  }
  raw_peer worker{c->worker_tcp};
  worker.send(original_register(1));
  ASSERT_TRUE(a->wait_for([](auto& s) { return s.cluster_free_slots == 1; }))
      << "A sees C's slot over its own link with C";
  auto members = a->metrics().members;
  ASSERT_EQ(members.size(), 2u);
  for (auto& m : members)
    EXPECT_EQ(m.state, "linked") << m.address;
  raw_peer client{a->client_tcp};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", "{}"));
  ASSERT_TRUE(worker.receive());
  worker.send(original_result(cookie, "\"from C\""));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "result"), "\"from C\"");
}

namespace {

/// `packet` (a JSON object) with `fields` (",\"name\":value...") added before its closing brace.
std::string with_fields(std::string packet, const std::string& fields) {
  packet.insert(packet.size() - 1, fields);
  return packet;
}

/// A REGISTER of an extended worker that serves only `pipelines` (a JSON array).
std::string register_for(int capacity, const std::string& pipelines) {
  return with_fields(original_register(capacity), R"(,"pipelines":)" + pipelines);
}

} // namespace

// Issue 14 across a link: A's own worker serves beta, B's workers alpha. Each RUN lands on a
// worker that serves its pipeline, PROGRESS crosses back to the client that asked, and a task
// whose worker on B went away runs again on B's other worker.
TEST(ClusterPeering, PipelinesProgressAndRetriesCrossALink) {
  auto port_b = free_tcp_port();
  auto b = start_cluster_node(port_b, {});
  auto a = start_cluster_node(0, {"127.0.0.1:" + std::to_string(port_b)});
  raw_peer alpha_1{b->worker_tcp};
  alpha_1.send(register_for(1, R"(["alpha"])"));
  raw_peer beta{a->worker_tcp};
  beta.send(register_for(1, R"(["beta"])"));
  ASSERT_TRUE(a->wait_for([](auto& s) { return s.cluster_free_slots == 1 && s.free_slots == 1; }));
  raw_peer client{a->client_tcp};
  // Nobody serves gamma: B's free slot is for alpha only.
  auto gamma = new_cookie();
  client.send(original_run(gamma, "gamma", "{}"));
  auto refused = client.receive();
  ASSERT_TRUE(refused);
  EXPECT_EQ(field(*refused, "rc"), "NO_CAPACITY");
  EXPECT_EQ(field(*refused, "error"), "No capacity available for pipeline 'gamma'");
  auto beta_cookie = new_cookie();
  client.send(original_run(beta_cookie, "beta", "{}"));
  auto at_beta = beta.receive();
  ASSERT_TRUE(at_beta);
  EXPECT_EQ(field(*at_beta, "cookie"), beta_cookie);
  auto alpha_cookie = new_cookie();
  auto alpha_run =
      with_fields(original_run(alpha_cookie, "alpha", "{}"), R"(,"progress":true,"retries":1)");
  client.send(alpha_run);
  auto at_alpha = alpha_1.receive();
  ASSERT_TRUE(at_alpha);
  EXPECT_EQ(*at_alpha, alpha_run);
  auto progress = R"({"packet_type":"PROGRESS","cookie":")" + alpha_cookie + R"(","result":"1/2"})";
  alpha_1.send(progress);
  EXPECT_EQ(client.receive(), progress) << "PROGRESS crosses back byte for byte";
  // A second alpha worker on B; once A knows of its slot, the first goes away mid-task.
  raw_peer alpha_2{b->worker_tcp};
  alpha_2.send(register_for(1, R"(["alpha"])"));
  ASSERT_TRUE(a->wait_for([](auto& s) { return s.cluster_free_slots == 1; }))
      << "A sees " << a->status().cluster_free_slots << " free slot(s) on B, B has "
      << b->status().free_slots;
  alpha_1.close();
  auto again = alpha_2.receive();
  ASSERT_TRUE(again) << "the task runs again on B's other alpha worker";
  EXPECT_EQ(*again, alpha_run);
  alpha_2.send(original_result(alpha_cookie, "\"done\""));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "rc"), "OK");
  EXPECT_NE(result->find(R"("attempts":2})"), std::string::npos) << *result;
  beta.send(original_result(beta_cookie, "\"b\""));
  auto beta_result = client.receive();
  ASSERT_TRUE(beta_result);
  EXPECT_EQ(field(*beta_result, "cookie"), beta_cookie);
}

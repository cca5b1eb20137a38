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

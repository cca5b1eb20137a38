// A CAF actor on another node (a second actor system linked by the middleman) serving and
// submitting work through a node's published Switchboard: no socket of the wire protocol.

#include "rcbroker/actors/actor_client.hpp"
#include "rcbroker/cluster/peering.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

using namespace rcbroker::test_support;
using namespace rcbroker::actors;

namespace {

struct remote_actor_test : ::testing::Test {
  std::unique_ptr<test_node> node = std::make_unique<test_node>(
      [](rcbroker::node::settings& s) { s.cluster_port = free_tcp_port(); });
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> other;
  switchboard_actor remote_sb;

  void SetUp() override {
    cfg.set("scheduler.policy", caf::atom("sharing"));
    rcbroker::cluster::enable_clustering(cfg);
    other = std::make_unique<caf::actor_system>(cfg);
    auto sb =
        other->middleman().remote_actor<switchboard_actor>("127.0.0.1", node->get().cluster_port());
    ASSERT_TRUE(sb) << other->render(sb.error());
    remote_sb = *sb;
  }

  void TearDown() override {
    remote_sb = nullptr;
    node.reset();
    other.reset();
  }
};

} // namespace

TEST_F(remote_actor_test, RemoteActorWorkerServesASocketClient) {
  auto worker =
      spawn_actor_worker(*other, remote_sb, 2, [](const std::string&, const std::string& vars) {
        return R"({"remote": )" + vars + "}";
      });
  ASSERT_TRUE(node->wait_for([](auto& s) { return s.registered_slots == 2; }));
  raw_peer client{node->client_tcp};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", R"({"n": 7})"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "rc"), "OK");
  EXPECT_EQ(field(*result, "cookie"), cookie);
  EXPECT_EQ(field(*result, "result"), R"({"remote": {"n": 7}})");
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(node->wait_for([](auto& s) { return s.registered_slots == 0; }))
      << "the remote worker's slots go with it";
}

TEST_F(remote_actor_test, RemoteActorClientGetsASocketWorkersResult) {
  raw_peer worker{node->worker_unix};
  worker.send(original_register(1));
  ASSERT_TRUE(node->wait_for([](auto& s) { return s.free_slots == 1; }));
  auto client = spawn_actor_client(*other, remote_sb);
  std::thread answer([&] {
    auto run = worker.receive();
    ASSERT_TRUE(run);
    EXPECT_EQ(field(*run, "pipeline"), "echo");
    worker.send(original_result(field(*run, "cookie"), R"({"from": "socket"})"));
  });
  caf::scoped_actor self{*other};
  run_outcome outcome;
  self->request(client, std::chrono::seconds{10}, run_atom::value, std::string{"echo"},
                std::string{"{}"})
      .receive([&](run_outcome& x) { outcome = std::move(x); },
               [&](caf::error& err) { ADD_FAILURE() << other->render(err); });
  answer.join();
  EXPECT_EQ(outcome.rc, "OK");
  EXPECT_EQ(outcome.result, R"({"from": "socket"})");
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
}

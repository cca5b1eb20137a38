// A CAF actor on another node (a second actor system linked by the middleman) serving and
// submitting work through a node's cluster face: no socket of the wire protocol, and nothing of
// the node but the face reachable.

#include "raw_peer.hpp"
#include "rcbroker/actors/actor_client.hpp"
#include "rcbroker/cluster/clustering.hpp"
#include "test_certificate.hpp"
#include "test_node.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>
#include <thread>

using namespace rcbroker::test_support;
using namespace rcbroker::actors;

namespace {

struct remote_actor_test : ::testing::Test {
  std::unique_ptr<test_node> node = std::make_unique<test_node>(
      [](rcbroker::node::settings& s) { s.cluster_port = free_tcp_port(); });
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> other;
  cluster_face_actor remote_sb;

  void SetUp() override {
    cfg.set("scheduler.policy", caf::atom("sharing"));
    rcbroker::cluster::enable_clustering(cfg);
    other = std::make_unique<caf::actor_system>(cfg);
    auto sb = other->middleman().remote_actor<cluster_face_actor>("127.0.0.1",
                                                                  node->get().cluster_port());
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

TEST_F(remote_actor_test, RemoteActorsUseTheRoutingExtensions) {
  auto echo = [](const std::string&, const std::string& vars) { return vars; };
  auto worker = spawn_actor_worker(*other, remote_sb, 1, echo, {}, {"remote"});
  auto refused = spawn_actor_worker(*other, remote_sb, 5, echo, {}, {"fine", ""});
  ASSERT_TRUE(node->wait_for([](auto& s) { return s.registered_slots == 1; }));
  raw_peer client{node->client_tcp};
  client.send(original_run(new_cookie(), "echo", "{}"));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "NO_CAPACITY");
  EXPECT_EQ(field(*reply, "error"), "No capacity available for pipeline 'echo'");
  auto actor_client = spawn_actor_client(*other, remote_sb);
  caf::scoped_actor self{*other};
  run_settings settings;
  settings.retries = 2;
  run_outcome outcome;
  self->request(actor_client, std::chrono::seconds{10}, run_atom::value, std::string{"remote"},
                std::string{"[5]"}, settings)
      .receive([&](run_outcome& x) { outcome = std::move(x); },
               [&](caf::error& err) { ADD_FAILURE() << other->render(err); });
  EXPECT_EQ(outcome.rc, "OK") << outcome.error;
  EXPECT_EQ(outcome.result, "[5]");
  EXPECT_EQ(outcome.attempts, 1);
  EXPECT_EQ(node->status().registered_slots, 1u) << "the face refused the empty pipeline name";
  for (auto& a : {caf::actor_cast<caf::actor>(worker), caf::actor_cast<caf::actor>(refused),
                  caf::actor_cast<caf::actor>(actor_client)})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_F(remote_actor_test, TheFaceTakesNothingMeantForTheSwitchboard) {
  caf::scoped_actor self{*other};
  // What the Switchboard would obey: an orderly stop and a drain.
  auto untyped = caf::actor_cast<caf::actor>(remote_sb);
  bool refused = false;
  self->request(untyped, std::chrono::seconds{5}, shutdown_atom::value)
      .receive([&](done_atom) {}, [&](caf::error&) { refused = true; });
  EXPECT_TRUE(refused) << "the face does not stop the node";
  // A remote actor posing as another node's link gets no role.
  self->send(remote_sb, join_atom::value, peer_role::link_client);
  self->send(remote_sb, join_atom::value, peer_role::link_worker);
  // Then as a client, which it may be: once that one is in, the others were handled.
  self->send(remote_sb, join_atom::value, peer_role::client);
  ASSERT_TRUE(node->wait_for([](auto& s) { return s.clients == 1; }));
  auto status = node->status();
  EXPECT_EQ(status.workers, 0u);
  EXPECT_EQ(status.cluster_links, 0u);
  // The node serves on.
  raw_peer worker{node->worker_unix};
  worker.send(original_register(1));
  EXPECT_TRUE(node->wait_for([](auto& s) { return s.free_slots == 1; }));
}

TEST(remote_actor_token, ARemoteWorkerNeedsTheWorkerToken) {
  auto node = std::make_unique<test_node>([](rcbroker::node::settings& s) {
    s.cluster_port = free_tcp_port();
    s.worker_token = "s3cret";
  });
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("sharing"));
  rcbroker::cluster::enable_clustering(cfg);
  auto other = std::make_unique<caf::actor_system>(cfg);
  auto face =
      other->middleman().remote_actor<cluster_face_actor>("127.0.0.1", node->get().cluster_port());
  ASSERT_TRUE(face) << other->render(face.error());
  auto echo = [](const std::string&, const std::string& vars) { return vars; };
  auto without = spawn_actor_worker(*other, *face, 2, echo);
  auto wrong = spawn_actor_worker(*other, *face, 3, echo, "guess");
  auto right = spawn_actor_worker(*other, *face, 4, echo, "s3cret");
  auto without_serving = spawn_actor_worker(*other, *face, 5, echo, {}, {"echo"});
  auto wrong_serving = spawn_actor_worker(*other, *face, 6, echo, "guess", {"echo"});
  auto right_serving = spawn_actor_worker(*other, *face, 7, echo, "s3cret", {"echo"});
  EXPECT_TRUE(node->wait_for([](auto& s) { return s.registered_slots == 11; }));
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  EXPECT_EQ(node->status().registered_slots, 11u)
      << "only the workers with the right token have slots";
  for (auto& w : {without, wrong, right, without_serving, wrong_serving, right_serving})
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  *face = nullptr;
  node.reset();
  other.reset();
}

TEST(remote_actor_tls, ARemoteActorWorkerServesOverClusterTlsAndAStrangerCannotConnect) {
  temp_dir dir;
  auto cluster = make_self_signed(dir.path, "cluster");
  auto stranger = make_self_signed(dir.path, "stranger");
  auto node = std::make_unique<test_node>([&](rcbroker::node::settings& s) {
    s.cluster_port = free_tcp_port();
    s.cluster_tls_cert = cluster.cert;
    s.cluster_tls_key = cluster.key;
    s.cluster_tls_ca = cluster.cert;
  });
  auto port = node->get().cluster_port();
  auto system_with = [](const test_certificate& c) {
    auto cfg = std::make_unique<caf::actor_system_config>();
    cfg->set("scheduler.policy", caf::atom("sharing"));
    rcbroker::cluster::clustering_options opts;
    opts.tls_cert = c.cert;
    opts.tls_key = c.key;
    opts.tls_ca = c.cert;
    rcbroker::cluster::enable_clustering(*cfg, opts);
    return cfg;
  };
  {
    auto cfg = system_with(stranger);
    caf::actor_system sys{*cfg};
    auto face = caf::openssl::remote_actor<cluster_face_actor>(sys, "127.0.0.1", port);
    EXPECT_FALSE(face) << "a certificate from another CA gets no connection";
  }
  auto cfg = system_with(cluster);
  auto other = std::make_unique<caf::actor_system>(*cfg);
  auto face = caf::openssl::remote_actor<cluster_face_actor>(*other, "127.0.0.1", port);
  ASSERT_TRUE(face) << other->render(face.error());
  auto worker = spawn_actor_worker(*other, *face, 2,
                                   [](const std::string&, const std::string& v) { return v; });
  ASSERT_TRUE(node->wait_for([](auto& s) { return s.registered_slots == 2; }));
  raw_peer client{node->client_tcp};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", R"({"tls": true})"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "result"), R"({"tls": true})");
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  *face = nullptr;
  node.reset();
  other.reset();
}

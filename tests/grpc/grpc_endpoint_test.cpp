// grpc:// and grpcs:// endpoints against a node in this process: gRPC clients and workers (the
// generated stub) with length-prefixed TCP peers on the other side, cancels, peers that drop,
// bad packets, oversize messages, connection limits and TLS.

#include "grpc_peer.hpp"
#include "raw_peer.hpp"
#include "test_certificate.hpp"
#include "test_node.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

using namespace rcbroker::test_support;

namespace {

// A test node with a grpc:// endpoint for clients and one for workers (third in each list).
std::function<void(rcbroker::node::settings&)>
with_grpc(const std::function<void(rcbroker::node::settings&)>& more = nullptr,
          const std::string& scheme = "grpc") {
  return [=](rcbroker::node::settings& s) {
    s.client_endpoints.push_back(scheme + "://127.0.0.1:0");
    s.worker_endpoints.push_back(scheme + "://127.0.0.1:0");
    if (more)
      more(s);
  };
}

std::string grpc_clients(test_node& node) {
  return node.get().client_urls().at(2);
}

std::string grpc_workers(test_node& node) {
  return node.get().worker_urls().at(2);
}

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A TCP worker with one slot, registered.
raw_peer tcp_worker(test_node& node, int capacity = 1) {
  raw_peer worker{node.worker_tcp};
  worker.send(original_register(capacity));
  EXPECT_TRUE(node.wait_for([&](auto& s) { return s.registered_slots >= unsigned(capacity); }));
  return worker;
}

} // namespace

TEST(GrpcEndpoint, BoundUrlsHaveTheRealPort) {
  test_node node{with_grpc()};
  auto url = grpc_clients(node);
  EXPECT_EQ(url.rfind("grpc://127.0.0.1:", 0), 0u) << url;
  EXPECT_NE(url, "grpc://127.0.0.1:0");
  EXPECT_NE(url, grpc_workers(node));
}

TEST(GrpcEndpoint, GrpcClientRunsATaskOnATcpWorker) {
  test_node node{with_grpc()};
  auto worker = tcp_worker(node);
  grpc_peer client{grpc_clients(node)};
  auto cookie = new_cookie();
  ASSERT_TRUE(client.send(grpc_run(cookie, "echo", R"({"x": 1})")));
  auto run = worker.receive();
  ASSERT_TRUE(run);
  // The worker reads what an original client would have sent over a socket.
  EXPECT_EQ(*run, original_run(cookie, "echo", R"({"x": 1})"));
  worker.send(original_result(cookie, R"({"y": 2})"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->packet_type(), "RESULT");
  EXPECT_EQ(result->cookie().value(), cookie);
  EXPECT_EQ(result->rc(), "OK");
  EXPECT_EQ(result->result(), R"({"y": 2})");
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.free_slots == 1 && s.routes == 0; }));
}

TEST(GrpcEndpoint, GrpcWorkerServesATcpClient) {
  test_node node{with_grpc()};
  grpc_peer worker{grpc_workers(node)};
  ASSERT_TRUE(worker.send(grpc_register(2)));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 2; }));
  raw_peer client{node.client_tcp};
  for (int i = 0; i < 3; ++i) {
    auto cookie = new_cookie();
    client.send(original_run(cookie, "echo", R"({"n": 1})"));
    auto run = worker.receive();
    ASSERT_TRUE(run);
    EXPECT_EQ(run->packet_type(), "RUN");
    EXPECT_EQ(run->cookie().value(), cookie);
    EXPECT_EQ(run->pipeline(), "echo");
    EXPECT_EQ(run->variables(), R"({"n": 1})");
    ASSERT_TRUE(worker.send(grpc_result(cookie, "[1]")));
    auto result = client.receive();
    ASSERT_TRUE(result);
    EXPECT_EQ(field(*result, "cookie"), cookie);
    EXPECT_EQ(field(*result, "rc"), "OK");
    EXPECT_EQ(field(*result, "result"), "[1]");
  }
}

TEST(GrpcEndpoint, GrpcClientAndGrpcWorker) {
  test_node node{with_grpc()};
  grpc_peer worker{grpc_workers(node)};
  ASSERT_TRUE(worker.send(grpc_register(1)));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  grpc_peer client{grpc_clients(node)};
  auto cookie = new_cookie();
  ASSERT_TRUE(client.send(grpc_run(cookie, "echo", "{}")));
  auto run = worker.receive();
  ASSERT_TRUE(run);
  ASSERT_TRUE(worker.send(grpc_result(cookie, "42")));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->result(), "42");
}

TEST(GrpcEndpoint, CancelReachesTheWorker) {
  test_node node{with_grpc()};
  auto worker = tcp_worker(node);
  grpc_peer client{grpc_clients(node)};
  auto cookie = new_cookie();
  ASSERT_TRUE(client.send(grpc_run(cookie, "slow", "{}")));
  ASSERT_TRUE(worker.receive());
  ASSERT_TRUE(client.send(grpc_cancel(cookie)));
  auto cancel = worker.receive();
  ASSERT_TRUE(cancel);
  EXPECT_EQ(field(*cancel, "packet_type"), "CANCEL");
  EXPECT_EQ(field(*cancel, "cookie"), cookie);
  worker.send(original_result(cookie, "null"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->cookie().value(), cookie);
}

TEST(GrpcEndpoint, ClientThatDropsMidTaskIsGoneAndItsTaskNotCancelled) {
  test_node node{with_grpc()};
  auto worker = tcp_worker(node);
  {
    grpc_peer client{grpc_clients(node)};
    ASSERT_TRUE(client.send(grpc_run(new_cookie(), "slow", "{}")));
    ASSERT_TRUE(worker.receive());
    ASSERT_TRUE(node.wait_for([](auto& s) { return s.clients == 1; }));
    client.cancel();
  }
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.clients == 0; }));
  EXPECT_FALSE(worker.receive(300)); // no CANCEL without cancel-orphans
}

TEST(GrpcEndpoint, ClientThatDropsMidTaskGetsItsTaskCancelledWithCancelOrphans) {
  test_node node{with_grpc([](auto& s) { s.cancel_orphans = true; })};
  auto worker = tcp_worker(node);
  auto cookie = new_cookie();
  {
    grpc_peer client{grpc_clients(node)};
    ASSERT_TRUE(client.send(grpc_run(cookie, "slow", "{}")));
    ASSERT_TRUE(worker.receive());
    client.cancel();
  }
  auto cancel = worker.receive();
  ASSERT_TRUE(cancel);
  EXPECT_EQ(field(*cancel, "packet_type"), "CANCEL");
  EXPECT_EQ(field(*cancel, "cookie"), cookie);
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.clients == 0; }));
}

TEST(GrpcEndpoint, WorkerThatDropsMidTaskGivesItsClientWorkerWentAway) {
  test_node node{with_grpc()};
  auto worker = std::make_unique<grpc_peer>(grpc_workers(node));
  ASSERT_TRUE(worker->send(grpc_register(1)));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  grpc_peer client{grpc_clients(node)};
  auto cookie = new_cookie();
  ASSERT_TRUE(client.send(grpc_run(cookie, "slow", "{}")));
  ASSERT_TRUE(worker->receive());
  worker->cancel();
  worker.reset();
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->packet_type(), "RESULT");
  EXPECT_EQ(result->cookie().value(), cookie);
  EXPECT_EQ(result->rc(), "WORKER_WENT_AWAY");
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.workers == 0 && s.registered_slots == 0; }));
}

TEST(GrpcEndpoint, BadPacketsGetBadPacketWithTheirCookie) {
  test_node node{with_grpc()};
  grpc_peer client{grpc_clients(node)};
  auto cookie = new_cookie();
  auto bad = grpc_run(cookie, "echo", "{}");
  bad.set_packet_type("FOO");
  ASSERT_TRUE(client.send(bad));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->cookie().value(), cookie);
  EXPECT_EQ(reply->rc(), "BAD_PACKET");
  EXPECT_FALSE(reply->error().empty());
  // A RUN without a pipeline: the checks of a socket peer's packets.
  ASSERT_TRUE(client.send(grpc_run(cookie, "", "{}")));
  reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->rc(), "BAD_PACKET");
  EXPECT_EQ(reply->error(), "Missing pipeline");
  // A REGISTER on a client endpoint.
  ASSERT_TRUE(client.send(grpc_register(1)));
  reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->rc(), "UNSUPPORTED_PACKET_TYPE");
  // A worker's REGISTER without capacity.
  grpc_peer worker{grpc_workers(node)};
  ASSERT_TRUE(worker.send(grpc_register(0)));
  reply = worker.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->rc(), "BAD_PACKET");
  EXPECT_EQ(node.status().registered_slots, 0u);
}

TEST(GrpcEndpoint, VariablesAreCarriedOpaqueAsOnASocket) {
  test_node node{with_grpc()};
  auto worker = tcp_worker(node);
  grpc_peer client{grpc_clients(node)};
  auto cookie = new_cookie();
  ASSERT_TRUE(client.send(grpc_run(cookie, "echo", "{not json")));
  auto run = worker.receive();
  ASSERT_TRUE(run);
  EXPECT_EQ(field(*run, "variables"), "{not json");
}

TEST(GrpcEndpoint, CookieThatIsNoUuidEndsTheStream) {
  test_node node{with_grpc()};
  grpc_peer client{grpc_clients(node)};
  ASSERT_TRUE(client.send(grpc_run("not-a-uuid", "echo", "{}")));
  auto status = client.ended();
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->ok());
  EXPECT_FALSE(client.receive(100));
}

TEST(GrpcEndpoint, OversizeMessageEndsItsStreamOnly) {
  test_node node{with_grpc([](auto& s) { s.max_frame_size = 4096; })};
  grpc_peer big{grpc_clients(node)};
  grpc_peer other{grpc_clients(node)};
  ASSERT_TRUE(other.send(grpc_run(new_cookie(), "echo", "{}")));
  ASSERT_TRUE(other.receive()); // NO_CAPACITY: no worker yet
  big.send(grpc_run(new_cookie(), "echo", "\"" + std::string(8192, 'v') + "\""));
  auto status = big.ended();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status->error_message();
  auto cookie = new_cookie();
  ASSERT_TRUE(other.send(grpc_run(cookie, "echo", "{}")));
  auto reply = other.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->cookie().value(), cookie);
  EXPECT_EQ(reply->rc(), "NO_CAPACITY");
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.clients == 1; }));
}

TEST(GrpcEndpoint, StreamsOverMaxClientConnectionsAreRefused) {
  test_node node{with_grpc([](auto& s) { s.max_client_connections = 1; })};
  grpc_peer first{grpc_clients(node)};
  ASSERT_TRUE(first.send(grpc_run(new_cookie(), "echo", "{}")));
  ASSERT_TRUE(first.receive());
  grpc_peer second{grpc_clients(node)};
  second.send(grpc_run(new_cookie(), "echo", "{}"));
  auto status = second.ended();
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->ok());
  EXPECT_NE(status->error_message().find("max-client-connections"), std::string::npos)
      << status->error_message();
}

TEST(GrpcEndpoint, ShutdownEndsOpenStreams) {
  auto node = std::make_unique<test_node>(with_grpc());
  grpc_peer worker{grpc_workers(*node)};
  ASSERT_TRUE(worker.send(grpc_register(1)));
  ASSERT_TRUE(node->wait_for([](auto& s) { return s.registered_slots == 1; }));
  grpc_peer client{grpc_clients(*node)};
  ASSERT_TRUE(client.send(grpc_run(new_cookie(), "slow", "{}")));
  ASSERT_TRUE(worker.receive());
  auto started = std::chrono::steady_clock::now();
  node.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{4});
  auto shutdown = worker.receive();
  ASSERT_TRUE(shutdown);
  EXPECT_EQ(shutdown->packet_type(), "SHUTDOWN");
  auto gone = client.receive();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->rc(), "BROKER_WENT_AWAY");
  EXPECT_TRUE(client.ended(1000));
  EXPECT_TRUE(worker.ended(1000));
}

TEST(GrpcEndpoint, GrpcsWithTheNodesCertificate) {
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  test_node node{with_grpc(
      [&](auto& s) {
        s.tls_cert = cert.cert;
        s.tls_key = cert.key;
      },
      "grpcs")};
  ASSERT_EQ(grpc_clients(node).rfind("grpcs://127.0.0.1:", 0), 0u);
  grpc::SslCredentialsOptions trusting;
  trusting.pem_root_certs = read_text(cert.cert);
  grpc_peer worker{grpc_workers(node), grpc::SslCredentials(trusting)};
  ASSERT_TRUE(worker.send(grpc_register(1)));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  grpc_peer client{grpc_clients(node), grpc::SslCredentials(trusting)};
  auto cookie = new_cookie();
  ASSERT_TRUE(client.send(grpc_run(cookie, "echo", "{}")));
  ASSERT_TRUE(worker.receive());
  ASSERT_TRUE(worker.send(grpc_result(cookie, "true")));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->result(), "true");
  // Plain gRPC on a grpcs:// port gets nowhere.
  grpc_peer plain{grpc_clients(node)};
  plain.send(grpc_run(new_cookie(), "echo", "{}"));
  auto status = plain.ended();
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->ok());
}

TEST(GrpcEndpoint, GrpcsRequiresAClientCertificateWithTlsClientCa) {
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  auto trusted = make_self_signed(dir.path, "trusted", "trusted-client");
  test_node node{with_grpc(
      [&](auto& s) {
        s.tls_cert = cert.cert;
        s.tls_key = cert.key;
        s.tls_client_ca = trusted.cert;
      },
      "grpcs")};
  grpc::SslCredentialsOptions without;
  without.pem_root_certs = read_text(cert.cert);
  grpc_peer stranger{grpc_clients(node), grpc::SslCredentials(without)};
  stranger.send(grpc_run(new_cookie(), "echo", "{}"));
  auto status = stranger.ended();
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->ok());
  auto with = without;
  with.pem_cert_chain = read_text(trusted.cert);
  with.pem_private_key = read_text(trusted.key);
  grpc_peer client{grpc_clients(node), grpc::SslCredentials(with)};
  auto cookie = new_cookie();
  ASSERT_TRUE(client.send(grpc_run(cookie, "echo", "{}")));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->rc(), "NO_CAPACITY");
}

TEST(GrpcEndpoint, StreamWithoutAPacketEndsAtTheFirstPacketTimeout) {
  test_node node{
      with_grpc([](auto& s) { s.first_packet_timeout = std::chrono::milliseconds{300}; })};
  grpc_peer silent{grpc_clients(node)};
  auto status = silent.ended(5000);
  ASSERT_TRUE(status);
  EXPECT_NE(status->error_message().find("first-packet-timeout"), std::string::npos)
      << status->error_message();
  // A stream that sends in time stays.
  grpc_peer talking{grpc_clients(node)};
  ASSERT_TRUE(talking.send(grpc_run(new_cookie(), "echo", "{}")));
  ASSERT_TRUE(talking.receive());
  EXPECT_FALSE(talking.ended(600));
}

TEST(GrpcEndpoint, IdleStreamEndsAtTheIdleTimeout) {
  test_node node{with_grpc([](auto& s) {
    s.first_packet_timeout = std::chrono::milliseconds{0};
    s.idle_timeout = std::chrono::milliseconds{300};
  })};
  grpc_peer client{grpc_clients(node)};
  for (int i = 0; i < 4; ++i) { // busy for longer than the timeout: stays
    ASSERT_TRUE(client.send(grpc_run(new_cookie(), "echo", "{}")));
    ASSERT_TRUE(client.receive());
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  auto status = client.ended(5000);
  ASSERT_TRUE(status);
  EXPECT_NE(status->error_message().find("idle-timeout"), std::string::npos)
      << status->error_message();
}

TEST(GrpcEndpoint, BusyPortStopsTheStart) {
  test_node first{with_grpc()};
  auto taken = grpc_clients(first);
  try {
    test_node second{[&](rcbroker::node::settings& s) { s.client_endpoints.push_back(taken); }};
    FAIL() << "a second node bound " << taken;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("cannot bind " + taken), std::string::npos) << e.what();
  }
}

// The client and worker library over tls:// endpoints of an in-process node: runs end to end,
// the node's certificate checked against a test CA and the address connected to, client
// certificates for nodes that ask for them, and the worker's reconnect. Certificates are made
// at test time.

#include "eventually.hpp"
#include "rcbroker/client/client.hpp"
#include "rcbroker/client/worker.hpp"
#include "rcbroker/node/settings.hpp"
#include "test_certificate.hpp"
#include "test_node.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <future>
#include <gtest/gtest.h>

using namespace rcbroker::client;
using namespace rcbroker::test_support;
using namespace std::chrono_literals;

namespace {

// A test node whose TCP client and worker endpoints are tls:// on `port`s (0: the kernel's).
std::function<void(rcbroker::node::settings&)> with_tls(const test_certificate& node_cert,
                                                        const std::string& client_ca = "",
                                                        std::uint16_t client_port = 0,
                                                        std::uint16_t worker_port = 0) {
  return [=](rcbroker::node::settings& s) {
    s.client_endpoints[0] = "tls://127.0.0.1:" + std::to_string(client_port);
    s.worker_endpoints[0] = "tls://127.0.0.1:" + std::to_string(worker_port);
    s.tls_cert = node_cert.cert;
    s.tls_key = node_cert.key;
    s.tls_client_ca = client_ca;
  };
}

tls_options trusting(const std::string& ca, const test_certificate* mine = nullptr) {
  tls_options tls;
  tls.ca_file = ca;
  if (mine) {
    tls.cert_file = mine->cert;
    tls.key_file = mine->key;
  }
  return tls;
}

client_options client_tls(const tls_options& tls) {
  client_options options;
  options.tls = tls;
  options.connect_timeout = 3000ms;
  return options;
}

std::unique_ptr<worker> start_echo_worker(const std::string& url, const tls_options& tls) {
  worker_options options;
  options.endpoint = url;
  options.tls = tls;
  options.first_retry = 20ms;
  options.max_retry = 200ms;
  auto w = std::make_unique<worker>(options, [](task_context& t) { return t.variables(); });
  w->start();
  return w;
}

// Runs one echo task on `c` and checks its RESULT, failing (not hanging) after 5 s.
void expect_echo(client& c) {
  auto f = c.run("echo", R"({"over": "tls"})");
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok()) << (r.error ? *r.error : "");
  EXPECT_EQ(r.value(), R"({"over": "tls"})");
}

// The connect_error of a client of `url` with `options`, and how long it took.
std::pair<std::string, std::chrono::milliseconds> connect_failure(const std::string& url,
                                                                  const client_options& options) {
  auto start = std::chrono::steady_clock::now();
  try {
    client c{url, options};
  } catch (const connect_error& e) {
    return {e.what(), std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)};
  }
  return {"connected", 0ms};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(ClientTls, RunOverTlsWithATestCa) {
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  test_node node{with_tls(cert)};
  ASSERT_EQ(node.client_tcp.rfind("tls://127.0.0.1:", 0), 0u) << node.client_tcp;
  auto w = start_echo_worker(node.worker_tcp, trusting(cert.cert));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  client c{node.client_tcp, client_tls(trusting(cert.cert))};
  expect_echo(c);
  // By name too: the certificate names localhost.
  auto by_name = "tls://localhost:" + node.client_tcp.substr(node.client_tcp.rfind(':') + 1);
  client named{by_name, client_tls(trusting(cert.cert))};
  expect_echo(named);
  EXPECT_EQ(w->registrations(), 1u);
}

TEST(ClientTls, WrongCaOrWrongNameIsAClearErrorWithinTheTimeout) {
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  auto other = make_self_signed(dir.path, "other");
  test_node node{with_tls(cert)};

  auto [wrong_ca, took] = connect_failure(node.client_tcp, client_tls(trusting(other.cert)));
  EXPECT_TRUE(contains(wrong_ca, "certificate verify failed")) << wrong_ca;
  EXPECT_TRUE(contains(wrong_ca, "--tls-ca")) << wrong_ca;
  EXPECT_LT(took, 2500ms);

  auto [missing, _] =
      connect_failure(node.client_tcp, client_tls(trusting(dir.path + "/no-such-ca.pem")));
  EXPECT_TRUE(contains(missing, dir.path + "/no-such-ca.pem")) << missing;

  // A certificate for another name, served on 127.0.0.1.
  auto elsewhere = make_self_signed(dir.path, "elsewhere", "elsewhere.example");
  test_node misnamed{with_tls(elsewhere)};
  auto [wrong_name, t2] =
      connect_failure(misnamed.client_tcp, client_tls(trusting(elsewhere.cert)));
  EXPECT_TRUE(contains(wrong_name, "does not name 127.0.0.1")) << wrong_name;

  // A worker with the wrong CA never registers and stops by itself: no retry would help.
  auto w = start_echo_worker(node.worker_tcp, trusting(other.cert));
  EXPECT_EQ(w->wait(), stop_reason::failed);
  EXPECT_EQ(node.status().registered_slots, 0u);
  EXPECT_EQ(w->registrations(), 0u);
  auto failure = w->failure();
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->what, connection_failure::kind::untrusted);
  EXPECT_TRUE(failure->permanent());
  EXPECT_TRUE(contains(failure->message, "certificate verify failed")) << failure->message;

  EXPECT_THROW(start_echo_worker(node.worker_tcp, trusting(dir.path + "/no-such-ca.pem")),
               std::invalid_argument);
  tls_options cert_only = trusting(cert.cert);
  cert_only.cert_file = cert.cert;
  EXPECT_THROW(start_echo_worker(node.worker_tcp, cert_only), std::invalid_argument);
}

TEST(ClientTls, APeerThatNeverAnswersTheHandshakeTimesOut) {
  // Accepts TCP (the kernel does, from the backlog) and never speaks TLS.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor silent{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto url = "tls://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  auto options = client_tls(tls_options{});
  options.connect_timeout = 300ms;
  auto [error, took] = connect_failure(url, options);
  EXPECT_TRUE(contains(error, "timed out after 300 ms in the TLS handshake")) << error;
  EXPECT_LT(took, 2000ms);
}

TEST(ClientTls, NodeAskingForClientCertificates) {
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  auto trusted = make_self_signed(dir.path, "trusted", "trusted-client");
  test_node node{with_tls(cert, trusted.cert)};

  auto [refused, took] = connect_failure(node.client_tcp, client_tls(trusting(cert.cert)));
  EXPECT_TRUE(contains(refused, "client certificate")) << refused;
  EXPECT_TRUE(contains(refused, "--tls-cert")) << refused;
  EXPECT_LT(took, 2500ms);

  auto w = start_echo_worker(node.worker_tcp, trusting(cert.cert, &trusted));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  client c{node.client_tcp, client_tls(trusting(cert.cert, &trusted))};
  expect_echo(c);
}

TEST(ClientTls, WorkerReconnectsOverTls) {
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  // The node drops a worker that sends nothing for 300 ms (no SHUTDOWN, which would stop it):
  // the worker connects, handshakes and registers again, each time.
  test_node node{[&](rcbroker::node::settings& s) {
    with_tls(cert)(s);
    s.idle_timeout = 300ms;
  }};
  auto w = start_echo_worker(node.worker_tcp, trusting(cert.cert));
  EXPECT_TRUE(eventually([&] { return w->registrations() >= 3u; }));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  client c{node.client_tcp, client_tls(trusting(cert.cert))};
  expect_echo(c);
}

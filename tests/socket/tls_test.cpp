// tls:// endpoints: RUN and RESULT over TLS, plain TCP on a TLS port, client certificates, and
// start-up errors for missing or wrong TLS files. Certificates are made at test time.

#include "log_capture.hpp"
#include "raw_peer.hpp"
#include "rcbroker/client/client.hpp"
#include "rcbroker/node/settings.hpp"
#include "test_certificate.hpp"
#include "test_node.hpp"
#include "tls_peer.hpp"

#include <caf/actor_system_config.hpp>
#include <filesystem>
#include <gtest/gtest.h>

using namespace rcbroker::test_support;

namespace {

// A test node whose TCP client and worker endpoints are tls:// (Unix ones stay plain).
std::function<void(rcbroker::node::settings&)> with_tls(const test_certificate& node_cert,
                                                        const std::string& client_ca = "") {
  return [=](rcbroker::node::settings& s) {
    s.client_endpoints[0] = "tls://127.0.0.1:0";
    s.worker_endpoints[0] = "tls://127.0.0.1:0";
    s.tls_cert = node_cert.cert;
    s.tls_key = node_cert.key;
    s.tls_client_ca = client_ca;
  };
}

// Files for a peer that checks the node's certificate against `ca` and presents none.
tls_peer_files trusting(const std::string& ca) {
  tls_peer_files files;
  files.ca = ca;
  return files;
}

// The same port without TLS.
std::string plain_url(const std::string& tls_url) {
  return "tcp://" + tls_url.substr(std::string{"tls://"}.size());
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(SocketTls, RunAndResultOverTlsByteForByte) {
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  test_node node{with_tls(cert)};
  ASSERT_EQ(node.client_tcp.rfind("tls://127.0.0.1:", 0), 0u) << node.client_tcp;
  tls_peer worker{node.worker_tcp, trusting(cert.cert)};
  worker.send(original_register(400));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 400; }));
  tls_peer client{node.client_tcp, trusting(cert.cert)};
  auto cookie = new_cookie();
  auto run = original_run(cookie, "echo", R"({"x": 1})");
  client.send(run);
  auto at_worker = worker.receive();
  ASSERT_TRUE(at_worker);
  EXPECT_EQ(*at_worker, run);
  // Large enough to take many TLS records, and many frames in one batch.
  auto result = original_result(cookie, "\"" + std::string(1 << 20, 'r') + "\"");
  worker.send(result);
  auto at_client = client.receive();
  ASSERT_TRUE(at_client);
  EXPECT_EQ(*at_client, result);
  // 300 RUNs, then 300 RESULTs of 4 KB back to back: the node writes them in several batches.
  std::vector<std::string> cookies;
  for (int i = 0; i < 300; ++i) {
    cookies.push_back(new_cookie());
    client.send(original_run(cookies.back(), "echo", "{}"));
  }
  for (auto& c : cookies) {
    auto r = worker.receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(field(*r, "cookie"), c);
  }
  for (auto& c : cookies)
    worker.send(original_result(c, "\"" + c + std::string(4000, '.') + "\""));
  for (auto& c : cookies) {
    auto r = client.receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, original_result(c, "\"" + c + std::string(4000, '.') + "\""));
  }

  // A plain Unix client of the same node reaches the TLS worker.
  raw_peer local{node.client_unix};
  auto local_cookie = new_cookie();
  local.send(original_run(local_cookie, "echo", "{}"));
  auto r = worker.receive();
  ASSERT_TRUE(r);
  worker.send(original_result(local_cookie, "{}"));
  auto local_result = local.receive();
  ASSERT_TRUE(local_result);
  EXPECT_EQ(field(*local_result, "cookie"), local_cookie);
}

TEST(SocketTls, PlainTcpOnATlsPortIsClosedAndNeverReachesTheBroker) {
  log_capture log;
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  test_node node{with_tls(cert)};
  raw_peer plain{plain_url(node.client_tcp)};
  plain.send(original_run(new_cookie(), "echo", "{}"));
  EXPECT_TRUE(plain.closed_by_peer());
  EXPECT_TRUE(log.contains("TLS handshake failed")) << log.text();
  auto snapshot = node.metrics();
  EXPECT_EQ(snapshot.broker.clients_accepted, 0u);
  EXPECT_EQ(snapshot.switchboard.clients, 0u);
  // Counted per endpoint (rcbroker_tls_handshakes_failed_total): the client one, not the worker's.
  auto& failures = snapshot.broker.tls_handshake_failures;
  ASSERT_EQ(failures.size(), 2u);
  for (auto& f : failures)
    EXPECT_EQ(f.count, f.endpoint == node.client_tcp ? 1u : 0u) << f.endpoint;
  // The port still serves TLS.
  tls_peer client{node.client_tcp, trusting(cert.cert)};
  client.send(original_run(new_cookie(), "echo", "{}"));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "NO_CAPACITY");
}

TEST(SocketTls, WithTlsClientCaOnlyPeersWithASignedCertificateGetIn) {
  log_capture log;
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  auto trusted = make_self_signed(dir.path, "trusted", "trusted-client");
  auto stranger = make_self_signed(dir.path, "stranger", "stranger-client");
  test_node node{with_tls(cert, trusted.cert)};

  tls_peer good{node.client_tcp, {cert.cert, trusted.cert, trusted.key}};
  good.send(original_cancel(new_cookie()));
  auto reply = good.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "COOKIE_NOT_FOUND");

  // Refused in the handshake, or (TLS 1.3: the server checks after the client's last flight)
  // closed before anything is read.
  auto refused = [&](const tls_peer_files& files) {
    try {
      tls_peer p{node.client_tcp, files};
      try {
        p.send(original_cancel(new_cookie()));
      } catch (const std::runtime_error&) {
      }
      return p.closed_by_peer() && !p.receive(0);
    } catch (const std::runtime_error&) {
      return true;
    }
  };
  EXPECT_TRUE(refused(trusting(cert.cert)));
  EXPECT_TRUE(refused({cert.cert, stranger.cert, stranger.key}));
  EXPECT_TRUE(log.contains("TLS handshake failed")) << log.text();
  EXPECT_EQ(node.metrics().broker.clients_accepted, 1u);
  EXPECT_EQ(node.status().clients, 1u);
}

TEST(SocketTls, MissingOrWrongTlsFilesStopTheStartNamingTheSetting) {
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  auto other = make_self_signed(dir.path, "other");
  rcbroker::node::settings s;
  s.client_endpoints = {"tls://127.0.0.1:0"};
  s.worker_endpoints = {"socket://" + dir.path + "/w.sock"};
  auto error = rcbroker::node::validate(s);
  EXPECT_TRUE(contains(error, "client-endpoints")) << error;
  EXPECT_TRUE(contains(error, "tls-cert")) << error;
  s.tls_cert = cert.cert;
  EXPECT_TRUE(contains(rcbroker::node::validate(s), "tls-key"));
  s.tls_key = cert.key;
  EXPECT_EQ(rcbroker::node::validate(s), "");
  s.tls_cert.clear();
  s.tls_key.clear();
  s.client_endpoints = {"socket://" + dir.path + "/c.sock"};
  s.tls_client_ca = cert.cert;
  EXPECT_TRUE(contains(rcbroker::node::validate(s), "tls-client-ca"));

  auto start_error = [&](const std::string& cert_file, const std::string& key_file,
                         const std::string& ca_file = "") -> std::string {
    rcbroker::node::settings t;
    t.client_endpoints = {"tls://127.0.0.1:0"};
    t.worker_endpoints = {"socket://" + dir.path + "/w.sock"};
    t.tls_cert = cert_file;
    t.tls_key = key_file;
    t.tls_client_ca = ca_file;
    caf::actor_system_config cfg;
    try {
      rcbroker::node::node n{t, cfg};
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "started";
  };
  auto missing = start_error(dir.path + "/none.pem", cert.key);
  EXPECT_TRUE(contains(missing, "tls-cert")) << missing;
  EXPECT_TRUE(contains(missing, dir.path + "/none.pem")) << missing;
  auto mismatch = start_error(cert.cert, other.key);
  EXPECT_TRUE(contains(mismatch, "tls-key")) << mismatch;
  auto bad_ca = start_error(cert.cert, cert.key, dir.path + "/no-ca.pem");
  EXPECT_TRUE(contains(bad_ca, "tls-client-ca")) << bad_ca;
}

TEST(SocketTls, TheClientLibraryRefusesTlsUrlsInsteadOfSendingInTheClear) {
  try {
    rcbroker::client::client c{"tls://127.0.0.1:1"};
    FAIL() << "connected";
  } catch (const rcbroker::client::connect_error& e) {
    EXPECT_TRUE(contains(e.what(), "tls://")) << e.what();
  }
}

// http:// client endpoints, as the original's HttpClient uses them: POST /v1/stream/stream with
// one packet, the response's lines up to the RESULT; with TCP workers on the same node, keep-alive,
// cancelling from another request, clients and workers that go away, bad requests and limits.

#include "http_peer.hpp"
#include "raw_peer.hpp"
#include "rcbroker/admin/metrics.hpp"
#include "rcbroker/transport/listener.hpp"
#include "test_certificate.hpp"
#include "test_node.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <gtest/gtest.h>
#include <iterator>

using namespace rcbroker::test_support;
using rcbroker::transport::http_refusal;

namespace {

// A test node that also serves http:// on 127.0.0.1.
std::function<void(rcbroker::node::settings&)>
with_http(const std::function<void(rcbroker::node::settings&)>& more = nullptr) {
  return [more](rcbroker::node::settings& s) {
    s.client_endpoints.push_back("http://127.0.0.1:0");
    if (more)
      more(s);
  };
}

std::string http_url(test_node& node) {
  return node.get().client_urls().at(2);
}

// A worker on the node's TCP endpoint with `slots` slots, registered.
raw_peer registered_worker(test_node& node, int slots = 4) {
  raw_peer worker{node.worker_tcp};
  worker.send(original_register(slots));
  EXPECT_TRUE(node.wait_for([&](auto& s) { return s.registered_slots >= std::uint64_t(slots); }));
  return worker;
}

// Posts `body` on a connection of its own, in the background.
std::future<http_reply> post_async(const std::string& url, std::string body) {
  return std::async(std::launch::async, [url, body] {
    http_peer peer{url};
    return peer.post(body);
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(SocketHttp, RunReachesATcpWorkerAndTheResultEndsTheResponse) {
  test_node node{with_http()};
  ASSERT_EQ(http_url(node).rfind("http://127.0.0.1:", 0), 0u) << http_url(node);
  auto worker = registered_worker(node);
  auto cookie = new_cookie();
  auto reply = post_async(http_url(node), original_run(cookie, "echo", R"({"x": 1})"));
  auto run = worker.receive();
  ASSERT_TRUE(run);
  EXPECT_EQ(*run, original_run(cookie, "echo", R"({"x": 1})")); // forwarded byte for byte
  auto result = original_result(cookie, R"({"y": 2})");
  worker.send(result);
  auto r = reply.get();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "application/octet-stream");
  EXPECT_TRUE(r.chunked);
  ASSERT_EQ(r.lines().size(), 1u) << r.body;
  EXPECT_EQ(r.lines()[0], result); // the worker's RESULT, as a socket client gets it
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.clients == 0 && s.routes == 0; }));
  // Counted by transport for the admin endpoint: one HTTP request, one TCP worker.
  auto transports = node.metrics().broker.transports;
  ASSERT_EQ(transports.size(), 2u);
  EXPECT_EQ(transports[0].transport, "http");
  EXPECT_EQ(transports[0].accepted, 1u);
  EXPECT_EQ(transports[0].open, 0u);
  EXPECT_EQ(transports[1].transport, "tcp");
  EXPECT_EQ(transports[1].open, 1u);
  auto results = node.metrics().switchboard.results_by_transport;
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].transport, "http");
  EXPECT_EQ(results[0].count, 1u);
}

TEST(SocketHttp, KeptAliveConnectionRunsOneRequestAfterAnother) {
  test_node node{with_http()};
  auto worker = registered_worker(node);
  http_peer client{http_url(node)};
  for (int i = 0; i < 3; ++i) {
    auto cookie = new_cookie();
    client.send_request(original_run(cookie, "echo", "{}"));
    auto run = worker.receive();
    ASSERT_TRUE(run);
    worker.send(original_result(cookie, std::to_string(i)));
    auto r = client.read_reply();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200u);
    EXPECT_TRUE(r->keep_alive);
    ASSERT_EQ(r->lines().size(), 1u);
    EXPECT_EQ(field(r->lines()[0], "cookie"), cookie);
  }
}

TEST(SocketHttp, CancelFromAnotherRequestReachesTheWorker) {
  test_node node{with_http()};
  auto worker = registered_worker(node);
  auto cookie = new_cookie();
  auto running = post_async(http_url(node), original_run(cookie, "slow", "{}"));
  ASSERT_TRUE(worker.receive());
  http_peer canceller{http_url(node)};
  auto ack = canceller.post(original_cancel(cookie));
  EXPECT_EQ(ack.status, 200u);
  ASSERT_EQ(ack.lines().size(), 1u);
  EXPECT_EQ(field(ack.lines()[0], "rc"), "OK");
  EXPECT_EQ(field(ack.lines()[0], "cookie"), cookie);
  auto cancel = worker.receive();
  ASSERT_TRUE(cancel);
  EXPECT_EQ(*cancel, original_cancel(cookie));
  // The worker answers the CANCEL; the RUN's own request gets that RESULT.
  auto answer = original_result(cookie, R"("stopped")");
  worker.send(answer);
  auto r = running.get();
  ASSERT_EQ(r.lines().size(), 1u);
  EXPECT_EQ(r.lines()[0], answer);
}

TEST(SocketHttp, CancelOfASocketClientsRunIsRefused) {
  test_node node{with_http()};
  auto worker = registered_worker(node);
  raw_peer tcp_client{node.client_tcp};
  auto cookie = new_cookie();
  tcp_client.send(original_run(cookie, "p", "{}"));
  ASSERT_TRUE(worker.receive());
  http_peer canceller{http_url(node)};
  auto r = canceller.post(original_cancel(cookie));
  ASSERT_EQ(r.lines().size(), 1u);
  EXPECT_EQ(field(r.lines()[0], "rc"), "COOKIE_NOT_FOUND");
  EXPECT_FALSE(worker.receive(200)); // no CANCEL went to the worker
}

TEST(SocketHttp, ClientThatDropsMidTaskIsAClientThatWentAway) {
  test_node node{with_http([](auto& s) { s.cancel_orphans = true; })};
  auto worker = registered_worker(node);
  auto cookie = new_cookie();
  http_peer client{http_url(node)};
  client.send_request(original_run(cookie, "slow", "{}"));
  ASSERT_TRUE(worker.receive());
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.clients == 1; }));
  client.close();
  auto cancel = worker.receive();
  ASSERT_TRUE(cancel) << "cancel-orphans sends the orphan's CANCEL";
  EXPECT_EQ(field(*cancel, "packet_type"), "CANCEL");
  EXPECT_EQ(field(*cancel, "cookie"), cookie);
  EXPECT_TRUE(node.wait_for([](auto& s) { return s.clients == 0; }));
}

TEST(SocketHttp, WorkerThatGoesAwayEndsTheResponse) {
  test_node node{with_http()};
  auto worker = registered_worker(node);
  auto cookie = new_cookie();
  auto reply = post_async(http_url(node), original_run(cookie, "p", "{}"));
  ASSERT_TRUE(worker.receive());
  worker.close();
  auto r = reply.get();
  ASSERT_EQ(r.lines().size(), 1u) << r.body;
  EXPECT_EQ(field(r.lines()[0], "rc"), "WORKER_WENT_AWAY");
}

TEST(SocketHttp, BadRequestsGetClearAnswersAndTheNodeServesOthers) {
  test_node node{with_http([](auto& s) { s.max_frame_size = 4096; })};
  auto worker = registered_worker(node);
  {
    http_peer peer{http_url(node)};
    auto r = peer.post("not json at all");
    EXPECT_EQ(r.status, 400u);
    EXPECT_TRUE(contains(r.body, "cookie")) << r.body;
  }
  {
    // A packet with a cookie but a wrong field type: the RESULT BAD_PACKET a socket client gets.
    http_peer peer{http_url(node)};
    auto cookie = new_cookie();
    auto r = peer.post(R"({"packet_type":"RUN","cookie":")" + cookie + R"(","pipeline":7})");
    EXPECT_EQ(r.status, 200u);
    ASSERT_EQ(r.lines().size(), 1u) << r.body;
    EXPECT_EQ(field(r.lines()[0], "rc"), "BAD_PACKET");
    EXPECT_EQ(field(r.lines()[0], "cookie"), cookie);
  }
  {
    // Cut short: no cookie can be read from it (a socket peer's connection closes): 400.
    http_peer peer{http_url(node)};
    auto r = peer.post(R"({"packet_type":"RUN","cookie":")" + new_cookie() + R"(","pipeline":)");
    EXPECT_EQ(r.status, 400u);
    EXPECT_TRUE(peer.closed_by_peer());
  }
  {
    http_peer peer{http_url(node)};
    auto r = peer.post(original_run(new_cookie(), "p", "{}"), "/v1/stream/stream", "GET");
    EXPECT_EQ(r.status, 405u);
    auto other = peer.post(original_run(new_cookie(), "p", "{}"), "/v2/other");
    EXPECT_EQ(other.status, 404u);
  }
  {
    http_peer peer{http_url(node)};
    auto r = peer.post(original_run(new_cookie(), "p", std::string(8000, ' ') + "{}"));
    EXPECT_EQ(r.status, 413u);
    EXPECT_TRUE(peer.closed_by_peer());
  }
  {
    http_peer peer{http_url(node)};
    peer.send_raw("this is not HTTP\r\n\r\n");
    auto r = peer.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u);
  }
  {
    // A request header that never ends is cut at the header limit.
    http_peer peer{http_url(node)};
    peer.send_raw("POST /v1/stream/stream HTTP/1.1\r\nX: " + std::string(20000, 'a'));
    auto r = peer.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431u);
  }
  // Each refusal counts by its reason, on its endpoint (rcbroker_http_refused_total).
  auto snapshot = node.metrics();
  auto& refusals = snapshot.broker.http_refusals;
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].endpoint, http_url(node));
  auto refused = [&](http_refusal reason) {
    return refusals[0].counts.at(static_cast<std::size_t>(reason));
  };
  EXPECT_GE(refused(http_refusal::no_cookie), 1u);
  EXPECT_EQ(refused(http_refusal::wrong_method), 1u);
  EXPECT_EQ(refused(http_refusal::wrong_path), 1u);
  EXPECT_EQ(refused(http_refusal::too_large), 2u); // 413 and 431
  EXPECT_EQ(refused(http_refusal::malformed), 1u);
  EXPECT_EQ(refused(http_refusal::over_limit), 0u);
  auto text = rcbroker::admin::render_metrics(snapshot, {});
  EXPECT_TRUE(contains(text, "rcbroker_http_refused_total{endpoint=\"" + http_url(node) +
                                 "\",reason=\"wrong_path\"} 1\n"))
      << text;
  // Nothing of that reached the worker, and an honest request still runs.
  EXPECT_FALSE(worker.receive(100));
  auto cookie = new_cookie();
  auto reply = post_async(http_url(node), original_run(cookie, "p", "{}"));
  ASSERT_TRUE(worker.receive());
  worker.send(original_result(cookie, "1"));
  EXPECT_EQ(field(reply.get().lines().at(0), "rc"), "OK");
}

TEST(SocketHttp, LargeRunIsReadOffTheIoThreadAndForwardedWhole) {
  test_node node{with_http()};
  auto worker = registered_worker(node);
  auto cookie = new_cookie();
  std::string big = R"({"blob": ")" + std::string(2u << 20, 'b') + R"("})";
  auto run = original_run(cookie, "p", big);
  auto reply = post_async(http_url(node), run);
  auto got = worker.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, run);
  worker.send(original_result(cookie, "1"));
  EXPECT_EQ(field(reply.get().lines().at(0), "rc"), "OK");
  // A large body whose packet is broken after a readable cookie: the RESULT BAD_PACKET.
  auto broken =
      post_async(http_url(node), R"({"cookie":")" + cookie + R"(","pipeline":")" +
                                     std::string(1u << 20, 'p') + R"(","packet_type":5})");
  auto r = broken.get();
  EXPECT_EQ(r.status, 200u);
  ASSERT_EQ(r.lines().size(), 1u) << r.body.substr(0, 200);
  EXPECT_EQ(field(r.lines()[0], "rc"), "BAD_PACKET");
}

TEST(SocketHttp, OverTheClientConnectionLimitARequestGets503) {
  test_node node{with_http([](auto& s) { s.max_client_connections = 1; })};
  auto worker = registered_worker(node);
  raw_peer holder{node.client_tcp};
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.clients == 1; }));
  http_peer peer{http_url(node)};
  auto r = peer.post(original_run(new_cookie(), "p", "{}"));
  EXPECT_EQ(r.status, 503u);
  EXPECT_TRUE(contains(r.body, "max-client-connections")) << r.body;
}

TEST(SocketHttp, IdleHttpConnectionsAreBoundedByTheClientConnectionLimit) {
  test_node node{with_http([](auto& s) { s.max_client_connections = 2; })};
  auto worker = registered_worker(node);
  http_peer first{http_url(node)};
  http_peer second{http_url(node)};
  http_peer third{http_url(node)};
  EXPECT_TRUE(third.closed_by_peer(2000)); // idle sockets cannot take every descriptor
  auto cookie = new_cookie();
  first.send_request(original_run(cookie, "p", "{}"));
  ASSERT_TRUE(worker.receive());
  worker.send(original_result(cookie, "1"));
  auto r = first.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

TEST(SocketHttp, SilentConnectionIsClosedAtTheFirstPacketTimeout) {
  test_node node{
      with_http([](auto& s) { s.first_packet_timeout = std::chrono::milliseconds{200}; })};
  http_peer peer{http_url(node)};
  EXPECT_TRUE(peer.closed_by_peer(3000));
}

TEST(SocketHttp, DetachedRunEndsItsRequestOnceTaken) {
  test_node node{with_http()};
  auto worker = registered_worker(node);
  auto cookie = new_cookie();
  http_peer client{http_url(node)};
  auto r = client.post(original_run(cookie, "p", "{}", true));
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.lines().empty()) << r.body;
  auto run = worker.receive();
  ASSERT_TRUE(run);
  EXPECT_EQ(field(*run, "cookie"), cookie);
}

TEST(SocketHttp, CurlAsAClientOverHttpAndHttps) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "curl is not installed";
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  test_node node{with_http([&](auto& s) {
    s.client_endpoints.push_back("https://127.0.0.1:0");
    s.tls_cert = cert.cert;
    s.tls_key = cert.key;
  })};
  auto worker = registered_worker(node);
  auto urls = node.get().client_urls();
  for (auto url : {urls.at(2), urls.at(3)}) {
    auto cookie = new_cookie();
    auto body_file = dir.path + "/body.json";
    FILE* f = std::fopen(body_file.c_str(), "w");
    ASSERT_TRUE(f);
    auto run = original_run(cookie, "echo", R"({"x": 1})");
    std::fputs(run.c_str(), f);
    std::fclose(f);
    auto out_file = dir.path + "/out.txt";
    // The test certificate names localhost: curl reaches it by that name.
    auto port = url.substr(url.rfind(':') + 1);
    auto named = url.substr(0, url.find("://") + 3) + "localhost:" + port;
    auto command = "curl -sS --max-time 10 --resolve localhost:" + port + ":127.0.0.1 --cacert " +
                   cert.cert + " --data-binary @" + body_file + " " + named +
                   "/v1/stream/stream > " + out_file;
    auto curl = std::async(std::launch::async, [command] { return std::system(command.c_str()); });
    auto got = worker.receive();
    ASSERT_TRUE(got) << url;
    worker.send(original_result(cookie, R"({"done": true})"));
    ASSERT_EQ(curl.get(), 0) << command;
    auto out = read_file(out_file);
    EXPECT_EQ(out, original_result(cookie, R"({"done": true})") + "\n") << url;
  }
}

TEST(SocketHttp, ShutdownAnswersARunningRequestAndClosesIdleConnections) {
  test_node node{with_http()};
  auto worker = registered_worker(node);
  http_peer idle{http_url(node)}; // kept alive, between requests
  auto cookie = new_cookie();
  auto reply = post_async(http_url(node), original_run(cookie, "p", "{}"));
  ASSERT_TRUE(worker.receive());
  auto started = std::chrono::steady_clock::now();
  node.shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{3});
  auto r = reply.get();
  ASSERT_EQ(r.lines().size(), 1u) << r.body;
  EXPECT_EQ(field(r.lines()[0], "rc"), "BROKER_WENT_AWAY");
  EXPECT_TRUE(idle.closed_by_peer(1000));
}

TEST(SocketHttp, AClientWrittenAsTheOriginalHttpClientWorksUnchanged) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 is not installed";
  test_node node{with_http()};
  auto worker = registered_worker(node);
  temp_dir dir;
  auto url = http_url(node);
  auto port = url.substr(url.rfind(':') + 1);
  auto cookie = new_cookie();
  auto out_file = dir.path + "/out.json";
  auto command = std::string{"python3 "} + RCBROKER_SOURCE_DIR +
                 "/tests/socket/scripts/original_http_client.py 127.0.0.1 " + port + " " + cookie +
                 " echo '{\"x\": 1}' > " + out_file;
  auto client = std::async(std::launch::async, [command] { return std::system(command.c_str()); });
  auto run = worker.receive();
  ASSERT_TRUE(run);
  EXPECT_EQ(field(*run, "pipeline"), "echo");
  EXPECT_EQ(field(*run, "variables"), R"({"x": 1})");
  worker.send(original_result(cookie, R"({"y": 2})"));
  ASSERT_EQ(client.get(), 0) << command;
  auto out = read_file(out_file);
  EXPECT_TRUE(contains(out, R"("rc": "OK")")) << out;
  EXPECT_TRUE(contains(out, cookie)) << out;
}

TEST(SocketHttp, HostileBytesAroundARequestCostNoCrashAndNoLostClient) {
  test_node node{with_http([](auto& s) {
    s.max_frame_size = 4096;
    s.cancel_orphans = true;
  })};
  auto worker = registered_worker(node);
  {
    // A RUN followed at once by more junk than the connection's buffer holds.
    http_peer peer{http_url(node)};
    auto cookie = new_cookie();
    auto body = original_run(cookie, "p", "{}");
    peer.send_raw("POST /v1/stream/stream HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body + std::string(20000, 'j'));
    auto run = worker.receive();
    ASSERT_TRUE(run);
    worker.send(original_result(cookie, "1"));
    auto r = peer.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(field(r->lines().at(0), "rc"), "OK");
  }
  {
    // A RUN with a stray byte after it, then the client leaves: still a client that went away.
    http_peer peer{http_url(node)};
    auto cookie = new_cookie();
    auto body = original_run(cookie, "p", "{}");
    peer.send_raw("POST /v1/stream/stream HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body + "\r\n");
    ASSERT_TRUE(worker.receive());
    peer.close();
    auto cancel = worker.receive();
    ASSERT_TRUE(cancel) << "the node noticed the client leave";
    EXPECT_EQ(field(*cancel, "packet_type"), "CANCEL");
    EXPECT_EQ(field(*cancel, "cookie"), cookie);
  }
  {
    // A body far over max-frame-size, sent whole: the 413 arrives, not a reset.
    http_peer peer{http_url(node)};
    peer.send_raw("POST /v1/stream/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" +
                  std::string(200000, 'b'));
    auto r = peer.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413u);
  }
  // The node still serves.
  auto cookie = new_cookie();
  auto reply = post_async(http_url(node), original_run(cookie, "p", "{}"));
  ASSERT_TRUE(worker.receive());
  worker.send(original_result(cookie, "2"));
  EXPECT_EQ(field(reply.get().lines().at(0), "rc"), "OK");
}

TEST(SocketHttp, ExpectContinueIsAnsweredAtOnce) {
  test_node node{with_http()};
  auto worker = registered_worker(node);
  http_peer peer{http_url(node)};
  auto cookie = new_cookie();
  auto body = original_run(cookie, "p", "{}");
  peer.send_raw("POST /v1/stream/stream HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: " +
                std::to_string(body.size()) + "\r\n\r\n");
  auto interim = peer.read_reply(2000);
  ASSERT_TRUE(interim) << "no 100 Continue";
  EXPECT_EQ(interim->status, 100u);
  peer.send_raw(body);
  ASSERT_TRUE(worker.receive());
  worker.send(original_result(cookie, "3"));
  auto r = peer.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

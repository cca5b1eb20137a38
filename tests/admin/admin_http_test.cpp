// The admin endpoint of an in-process node, over real HTTP: the figures of /metrics against what
// the test made happen, /status, /healthz through an orderly shutdown, and bad requests.

#include "exposition_checker.hpp"
#include "http_helpers.hpp"
#include "raw_peer.hpp"
#include "status_client.hpp"
#include "test_node.hpp"

#include <chrono>
#include <cstdio>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sstream>
#include <thread>

using namespace rcbroker;
using namespace rcbroker::test_support;

namespace {

void with_admin(node::settings& s) {
  s.admin = "127.0.0.1:0";
}

/// GETs `path` and checks that a response came.
rcsubmit::http_reply get(test_node& node, const std::string& path) {
  auto reply = rcsubmit::http_get(node.get().admin_url(), path);
  EXPECT_NE(reply.status, 0u) << reply.error;
  return reply;
}

exposition scrape(test_node& node) {
  auto reply = get(node, "/metrics");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  auto e = check_exposition(reply.body);
  EXPECT_TRUE(e.ok()) << e.error << "\n" << reply.body;
  return e;
}

double results(const exposition& e, const char* origin, const char* rc) {
  return e.value("rcbroker_results_total", {{"origin", origin}, {"rc", rc}}).value_or(-1);
}

std::string result_with_rc(const std::string& cookie, const char* rc) {
  return R"({"packet_type":"RESULT","cookie":")" + cookie + R"(","rc":")" + rc +
         R"(","error":"boom","stacktrace":["line 1"],"result":null})";
}

/// The next frame either worker gets, and which worker got it.
std::pair<raw_peer*, std::string> receive_any(raw_peer& a, raw_peer& b) {
  for (int i = 0; i < 250; ++i)
    for (auto* w : {&a, &b})
      if (auto f = w->receive(10))
        return {w, *f};
  ADD_FAILURE() << "no worker got a frame";
  return {nullptr, {}};
}

} // namespace

TEST(AdminHttp, MetricsMatchWhatHappened) {
  test_node node{with_admin};
  ASSERT_FALSE(node.get().admin_url().empty());
  raw_peer w1{node.worker_tcp};
  w1.send(original_register(3));
  raw_peer w2{node.worker_unix};
  w2.send(original_register(2));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 5; }));
  raw_peer client{node.client_tcp};

  // 12 tasks that succeed and 3 that fail at the worker, one at a time.
  for (int i = 0; i < 15; ++i) {
    auto cookie = new_cookie();
    client.send(original_run(cookie, "job", "{}"));
    auto [worker, run] = receive_any(w1, w2);
    ASSERT_TRUE(worker);
    worker->send(i < 12 ? original_result(cookie, "1")
                        : result_with_rc(cookie, "PROCESSOR_EXCEPTION"));
    auto answer = client.receive();
    ASSERT_TRUE(answer);
    EXPECT_EQ(field(*answer, "rc"), i < 12 ? "OK" : "PROCESSOR_EXCEPTION");
  }
  // 5 tasks the workers hold: every slot busy.
  std::vector<std::pair<raw_peer*, std::string>> held;
  for (int i = 0; i < 5; ++i) {
    auto cookie = new_cookie();
    client.send(original_run(cookie, "hold", "{}"));
    auto [worker, run] = receive_any(w1, w2);
    ASSERT_TRUE(worker);
    held.emplace_back(worker, cookie);
  }
  // One RUN finds no slot; one reuses a cookie in flight.
  client.send(original_run(new_cookie(), "job", "{}"));
  auto no_capacity = client.receive();
  ASSERT_TRUE(no_capacity);
  EXPECT_EQ(field(*no_capacity, "rc"), "NO_CAPACITY");
  client.send(original_run(held.front().second, "job", "{}"));
  auto collision = client.receive();
  ASSERT_TRUE(collision);
  EXPECT_EQ(field(*collision, "rc"), "COOKIE_COLLISION");

  auto e = scrape(node);
  EXPECT_EQ(e.value("rcbroker_accepting"), 1.0);
  EXPECT_EQ(e.value("rcbroker_connections", {{"kind", "client"}}), 1.0);
  EXPECT_EQ(e.value("rcbroker_connections", {{"kind", "worker"}}), 2.0);
  EXPECT_EQ(e.value("rcbroker_connections_accepted_total", {{"kind", "worker"}}), 2.0);
  EXPECT_EQ(e.value("rcbroker_workers"), 2.0);
  EXPECT_EQ(e.value("rcbroker_clients"), 1.0);
  EXPECT_EQ(e.value("rcbroker_slots_registered"), 5.0);
  EXPECT_EQ(e.value("rcbroker_slots_free"), 0.0);
  EXPECT_EQ(e.value("rcbroker_routes"), 5.0);
  EXPECT_EQ(e.value("rcbroker_runs_queued"), 0.0);
  EXPECT_EQ(e.value("rcbroker_runs_received_total"), 22.0);
  EXPECT_EQ(e.value("rcbroker_runs_started_total"), 20.0);
  EXPECT_EQ(results(e, "worker", "OK"), 12.0);
  EXPECT_EQ(results(e, "worker", "PROCESSOR_EXCEPTION"), 3.0);
  EXPECT_EQ(results(e, "broker", "NO_CAPACITY"), 1.0);
  EXPECT_EQ(results(e, "broker", "COOKIE_COLLISION"), 1.0);
  EXPECT_EQ(results(e, "broker", "WORKER_WENT_AWAY"), 0.0);
  EXPECT_EQ(e.value("rcbroker_results_forwarded_total"), 15.0);
  EXPECT_EQ(e.value("rcbroker_forwarded_frames_total", {{"to", "worker"}}), 20.0);
  EXPECT_EQ(e.value("rcbroker_forwarded_frames_total", {{"to", "client"}}), 15.0);
  // Bytes on the wire: each RUN frame as the client wrote it plus its 4-byte length prefix.
  auto run_bytes = original_run(new_cookie(), "job", "{}").size() + 4;
  auto hold_bytes = original_run(new_cookie(), "hold", "{}").size() + 4;
  EXPECT_EQ(e.value("rcbroker_forwarded_bytes_total", {{"to", "worker"}}),
            static_cast<double>(15 * run_bytes + 5 * hold_bytes));
  EXPECT_EQ(e.value("rcbroker_run_duration_seconds_count"), 15.0);

  // The held tasks finish, one fails: every slot is free again.
  for (std::size_t i = 0; i < held.size(); ++i)
    held[i].first->send(i == 0 ? result_with_rc(held[i].second, "EXCEPTION")
                               : original_result(held[i].second, "2"));
  for (std::size_t i = 0; i < held.size(); ++i)
    ASSERT_TRUE(client.receive());
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.free_slots == 5; }));
  e = scrape(node);
  EXPECT_EQ(e.value("rcbroker_slots_free"), 5.0);
  EXPECT_EQ(e.value("rcbroker_routes"), 0.0);
  EXPECT_EQ(results(e, "worker", "OK"), 16.0);
  EXPECT_EQ(results(e, "worker", "EXCEPTION"), 1.0);
  EXPECT_EQ(e.value("rcbroker_run_duration_seconds_count"), 20.0);
  EXPECT_EQ(e.value("rcbroker_run_duration_seconds_bucket", {{"le", "+Inf"}}), 20.0);

  // A worker going away with a task: its client is told, and the metrics say so.
  auto cookie = new_cookie();
  client.send(original_run(cookie, "hold", "{}"));
  auto [worker, run] = receive_any(w1, w2);
  ASSERT_TRUE(worker);
  worker->close();
  auto went_away = client.receive();
  ASSERT_TRUE(went_away);
  EXPECT_EQ(field(*went_away, "rc"), "WORKER_WENT_AWAY");
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.workers == 1; }));
  e = scrape(node);
  EXPECT_EQ(results(e, "broker", "WORKER_WENT_AWAY"), 1.0);
  EXPECT_EQ(e.value("rcbroker_workers"), 1.0);
  EXPECT_EQ(e.value("rcbroker_slots_registered"), worker == &w1 ? 2.0 : 3.0);
}

TEST(AdminHttp, StatusListsWorkersWithCapacityAndTasksInFlight) {
  test_node node{with_admin};
  raw_peer worker{node.worker_tcp};
  worker.send(original_register(4));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 4; }));
  raw_peer client{node.client_unix};
  client.send(original_run(new_cookie(), "hold", "{}"));
  ASSERT_TRUE(worker.receive());

  auto reply = get(node, "/status");
  ASSERT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.content_type, "application/json");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(reply.body).get(doc), simdjson::SUCCESS) << reply.body;
  EXPECT_TRUE(bool{doc["accepting"]});
  EXPECT_EQ(std::string_view{doc["endpoints"]["clients"].at(0)}, node.client_tcp);
  EXPECT_EQ(std::string_view{doc["endpoints"]["admin"]}, node.get().admin_url());
  simdjson::dom::array workers = doc["workers"];
  ASSERT_EQ(workers.size(), 1u) << reply.body;
  auto w = workers.at(0);
  EXPECT_EQ(std::string_view{w["name"]}.rfind("worker#", 0), 0u) << reply.body;
  EXPECT_NE(std::string_view{w["name"]}.find("tcp 127.0.0.1:"), std::string_view::npos);
  EXPECT_EQ(std::uint64_t{w["capacity"]}, 4u);
  EXPECT_EQ(std::uint64_t{w["in_flight"]}, 1u);
  EXPECT_EQ(std::uint64_t{w["tasks"]}, 1u);
  // Each peer is an object an operator can read without parsing its name.
  EXPECT_EQ(std::string_view{w["kind"]}, "worker");
  EXPECT_EQ(std::string_view{w["transport"]}, "tcp");
  EXPECT_EQ(std::string_view{w["endpoint"]}, node.worker_tcp);
  EXPECT_EQ(std::string_view{w["remote_address"]}.rfind("127.0.0.1:", 0), 0u) << reply.body;
  auto since = double{w["connected_since_unix_seconds"]};
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
  EXPECT_GT(since, now.count() - 60);
  EXPECT_LE(since, now.count() + 1);
  EXPECT_EQ(std::uint64_t{w["bytes_in"]}, original_register(4).size() + 4);
  EXPECT_GT(std::uint64_t{w["bytes_out"]}, 0u) << "the RUN went out";
  EXPECT_EQ(std::uint64_t{w["write_queue_bytes"]}, 0u);
  simdjson::dom::array clients = doc["clients"];
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(std::uint64_t{clients.at(0)["in_flight"]}, 1u);
  EXPECT_EQ(std::string_view{clients.at(0)["kind"]}, "client");
  EXPECT_EQ(std::string_view{clients.at(0)["transport"]}, "socket");
  EXPECT_EQ(std::string_view{clients.at(0)["remote_address"]}, "");
  EXPECT_EQ(std::uint64_t{doc["slots"]["free"]}, 3u);

  // What `rcsubmit --status` prints: the same figures as a table.
  std::ostringstream out, err;
  EXPECT_EQ(rcsubmit::print_status(node.get().admin_url(), out, err), 0) << err.str();
  EXPECT_NE(out.str().find("3 free of 4 registered"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find(std::string{std::string_view{w["name"]}}), std::string::npos)
      << out.str();
}

TEST(AdminHttp, HealthzTurns503WhileShuttingDown) {
  // A worker that reads nothing, with a RUN far larger than the socket buffers on its way, keeps
  // the shutdown from finishing (its connection cannot flush) until the test closes it.
  test_node node{[](node::settings& s) {
    with_admin(s);
    s.max_frame_size = 40u * 1024u * 1024u;
    s.max_write_queue = 64u * 1024u * 1024u;
  }};
  auto url = node.get().admin_url();
  raw_peer worker{node.worker_tcp};
  worker.send(original_register(1));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 1; }));
  raw_peer client{node.client_tcp};
  client.send(original_run(new_cookie(), "big", std::string(32u * 1024u * 1024u, 'x')));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.routes == 1; }));
  auto before = rcsubmit::http_get(url, "/healthz");
  EXPECT_EQ(before.status, 200u);
  EXPECT_EQ(before.body, "ok\n");

  std::thread stopper{[&] { node.shutdown(); }};
  unsigned seen = 0;
  for (int i = 0; i < 500 && seen != 503; ++i) {
    seen = rcsubmit::http_get(url, "/healthz").status;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  EXPECT_EQ(seen, 503u);
  auto during = rcsubmit::http_get(url, "/healthz");
  EXPECT_EQ(during.status, 503u);
  EXPECT_EQ(during.body, "shutting down\n");
  auto e = check_exposition(rcsubmit::http_get(url, "/metrics").body);
  EXPECT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.value("rcbroker_accepting"), 0.0);

  worker.close(); // its connection ends, and with it the shutdown
  stopper.join();
  auto after = rcsubmit::http_get(url, "/healthz", std::chrono::milliseconds{1000});
  EXPECT_EQ(after.status, 0u) << "the admin endpoint must be gone after the shutdown";
}

TEST(AdminHttp, BadRequestsGetErrorsAndTheServerCarriesOn) {
  test_node node{with_admin};
  auto port = port_of(node.get().admin_url());
  // A client that connects and says nothing holds nothing up.
  raw_peer idle{"tcp://127.0.0.1:" + std::to_string(port)};

  EXPECT_EQ(status_of(raw_http(port, "GARBAGE\r\n\r\n")), 400u);
  EXPECT_EQ(status_of(raw_http(port, "GET /metrics HTTP/9.9\r\n\r\n")), 400u);
  EXPECT_EQ(status_of(raw_http(port, "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n")), 400u);
  auto not_found = raw_http(port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(not_found), 404u);
  auto post = raw_http(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n");
  EXPECT_EQ(status_of(post), 405u);
  EXPECT_NE(post.find("Allow: GET, HEAD"), std::string::npos) << post;
  auto big_header =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_EQ(status_of(raw_http(port, big_header)), 431u);
  auto big_body = "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                  std::string(100000, 'b');
  EXPECT_EQ(status_of(raw_http(port, big_body)), 413u);
  auto query = raw_http(port, "GET /healthz?verbose=1 HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(query), 200u);

  // Two requests on one connection, the second asking to close: two answers, then the end.
  auto both = raw_http(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(both), 200u);
  EXPECT_NE(both.find("HTTP/1.1 200", 10), std::string::npos) << both;

  auto health = rcsubmit::http_get(node.get().admin_url(), "/healthz");
  EXPECT_EQ(health.status, 200u) << health.error;
}

TEST(AdminHttp, HeadOfHealthzAnswersHeadersOnly) {
  test_node node{with_admin};
  auto port = port_of(node.get().admin_url());
  auto head = raw_http(port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(head), 200u) << head;
  EXPECT_NE(head.find("Content-Length: 3"), std::string::npos) << head; // of the GET's "ok\n"
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "") << "a HEAD response has no body";
  node.get().drain(std::chrono::milliseconds{100}); // nothing open: drained at once
  auto draining = raw_http(port, "HEAD /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(draining), 503u) << draining;
}

TEST(AdminHttp, OffByDefault) {
  test_node node;
  EXPECT_EQ(node.get().admin_url(), "");
}

TEST(AdminHttp, PromtoolAcceptsTheMetrics) {
  // Debian's prometheus package has promtool; without it the strict checker above stands alone.
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  test_node node{with_admin};
  raw_peer worker{node.worker_tcp};
  worker.send(original_register(2));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 2; }));
  raw_peer client{node.client_tcp};
  auto cookie = new_cookie();
  client.send(original_run(cookie, "job", "{}"));
  ASSERT_TRUE(worker.receive());
  worker.send(original_result(cookie, "1"));
  ASSERT_TRUE(client.receive());
  auto reply = get(node, "/metrics");
  auto path = make_temp_dir() + "/metrics.txt";
  {
    auto* f = std::fopen(path.c_str(), "w");
    ASSERT_TRUE(f);
    std::fwrite(reply.body.data(), 1, reply.body.size(), f);
    std::fclose(f);
  }
  // promtool exits non-zero on format errors and on lint problems (names, units, help).
  auto command = "promtool check metrics < " + path + " > " + path + ".out 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << reply.body;
}

TEST(AdminHttp, MetricsHaveTheStandardProcessSeries) {
  test_node node{with_admin};
  auto reply = get(node, "/metrics");
  auto e = check_exposition(reply.body);
  ASSERT_TRUE(e.ok()) << e.error << "\n" << reply.body;
  EXPECT_EQ(e.types["process_cpu_seconds_total"], "counter");
  EXPECT_GE(e.value("process_cpu_seconds_total", {}).value_or(-1), 0.0);
  EXPECT_GT(e.value("process_resident_memory_bytes", {}).value_or(0), 1024.0 * 1024);
  EXPECT_GT(e.value("process_virtual_memory_bytes", {}).value_or(0), 1024.0 * 1024);
  // This test process's descriptors: at least the node's listeners and the admin socket.
  EXPECT_GE(e.value("process_open_fds", {}).value_or(0), 5.0);
  EXPECT_GE(e.value("process_max_fds", {}).value_or(0),
            e.value("process_open_fds", {}).value_or(0));
  EXPECT_GE(e.value("process_threads", {}).value_or(0), 2.0) << "at least main and I/O threads";
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
  auto start = e.value("process_start_time_seconds", {}).value_or(0);
  EXPECT_LE(start, now.count() + 1);
  EXPECT_GT(start, now.count() - 24 * 3600) << "started within the last day";
}

TEST(AdminHttp, ConnectionsClosedAreCountedByCause) {
  test_node node{[](node::settings& s) {
    with_admin(s);
    s.max_frame_size = 1024;
  }};
  {
    raw_peer gone{node.client_tcp};
    gone.send(original_run(new_cookie(), "job", "{}"));
    ASSERT_TRUE(gone.receive()); // NO_CAPACITY: the connection is up
  }                              // closed here: peer_closed
  raw_peer garbage{node.client_tcp};
  garbage.send("this is not JSON");
  EXPECT_TRUE(garbage.closed_by_peer()) << "a packet without a readable cookie closes";
  raw_peer huge{node.client_tcp};
  huge.send_raw(std::string{"\x00\x10\x00\x00", 4}); // announces 1 MiB
  EXPECT_TRUE(huge.closed_by_peer());
  auto closed = [&](const char* cause) {
    return scrape(node).value("rcbroker_connections_closed_total", {{"cause", cause}}).value_or(-1);
  };
  for (int i = 0; i < 100 && closed("peer_closed") < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  EXPECT_EQ(closed("peer_closed"), 1);
  EXPECT_EQ(closed("bad_packet"), 1);
  EXPECT_EQ(closed("frame_too_large"), 1);
  EXPECT_EQ(closed("slow_reader"), 0) << "every cause has its series, at 0 when none happened";
  EXPECT_EQ(closed("idle_timeout"), 0);
}

TEST(AdminHttp, PacketsRefusedAreCountedByReason) {
  test_node node{[](node::settings& s) {
    with_admin(s);
    s.worker_token = "right";
  }};
  auto refused = [&](const char* reason) {
    return scrape(node).value("rcbroker_packets_refused_total", {{"reason", reason}}).value_or(-1);
  };
  EXPECT_EQ(refused("wrong_token"), 0) << "every reason has its series from the start";

  raw_peer intruder{node.worker_tcp};
  intruder.send(R"({"packet_type":"REGISTER","capacity":1,"token":"wrong"})");
  auto answer = intruder.receive();
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->find("BAD_PACKET"), std::string::npos) << *answer;
  raw_peer worker{node.worker_tcp};
  worker.send(R"({"packet_type":"REGISTER","capacity":1,"token":"right"})");
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.free_slots == 1; })); // the intruder has none
  worker.send(original_run(new_cookie(), "job", "{}"));                  // a RUN from a worker
  ASSERT_TRUE(worker.receive());

  raw_peer client{node.client_tcp};
  auto cookie = new_cookie();
  client.send(R"({"packet_type":"RUN","cookie":")" + cookie +
              R"(","pipeline":"job","variables":"{}","detach":"yes"})");
  ASSERT_TRUE(client.receive());
  client.send(R"({"packet_type":"NOPE","cookie":")" + cookie + R"("})");
  ASSERT_TRUE(client.receive());
  raw_peer garbage{node.client_tcp};
  garbage.send("this is not JSON");
  EXPECT_TRUE(garbage.closed_by_peer());

  EXPECT_EQ(refused("wrong_token"), 1);
  EXPECT_EQ(refused("wrong_role"), 1);
  EXPECT_EQ(refused("bad_field"), 1);
  EXPECT_EQ(refused("unknown_packet_type"), 1);
  EXPECT_EQ(refused("invalid_json"), 1);
  EXPECT_EQ(refused("missing_field"), 0);
  auto e = scrape(node);
  EXPECT_EQ(e.value("rcbroker_connections_closed_total", {{"cause", "bad_packet"}}), 1.0)
      << "the packet that closed its connection counts in both";
}

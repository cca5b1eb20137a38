// The /status JSON and its terminal tables, as pure functions of a snapshot.

#include "rcbroker/admin/status_json.hpp"
#include "status_client.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

using namespace rcbroker;

namespace {

actors::node_snapshot snapshot_with_peers() {
  actors::node_snapshot s;
  s.broker.uptime_ms = 3'723'000; // 1h 2m 3s
  s.broker.client_endpoints = {"tcp://127.0.0.1:51500"};
  s.broker.worker_endpoints = {"socket:///tmp/w.sock"};
  s.broker.client_connections = 1;
  s.broker.worker_connections = 1;
  s.broker.connections = {{11, true, "worker#2 (tcp 127.0.0.1:40000)"},
                          {12, false, "client#3 (unix)"}};
  s.switchboard.registered_slots = 4;
  s.switchboard.free_slots = 3;
  s.switchboard.routes = 1;
  s.switchboard.worker_peers = {{11, 4, 1}};
  s.switchboard.client_peers = {{12, 0, 1}, {99, 0, 0}};
  return s;
}

} // namespace

TEST(StatusRender, JsonNamesWorkersAndClients) {
  auto json =
      admin::render_status_json(snapshot_with_peers(), {"n1", "0.1.0", "http://127.0.0.1:9"});
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_EQ(std::string_view{doc["node"]}, "n1");
  EXPECT_TRUE(bool{doc["accepting"]});
  EXPECT_DOUBLE_EQ(double{doc["uptime_seconds"]}, 3723.0);
  EXPECT_EQ(std::string_view{doc["endpoints"]["workers"].at(0)}, "socket:///tmp/w.sock");
  EXPECT_EQ(std::string_view{doc["endpoints"]["admin"]}, "http://127.0.0.1:9");
  auto worker = doc["workers"].at(0);
  EXPECT_EQ(std::string_view{worker["name"]}, "worker#2 (tcp 127.0.0.1:40000)");
  EXPECT_EQ(std::uint64_t{worker["capacity"]}, 4u);
  EXPECT_EQ(std::uint64_t{worker["in_flight"]}, 1u);
  EXPECT_EQ(std::string_view{doc["clients"].at(0)["name"]}, "client#3 (unix)");
  // A peer without a socket connection (an actor client) still shows, named as such.
  EXPECT_EQ(std::string_view{doc["clients"].at(1)["name"]}, "actor");
  EXPECT_EQ(std::uint64_t{doc["slots"]["free"]}, 3u);
}

TEST(StatusRender, TableShowsEachWorkerWithCapacity) {
  auto json = admin::render_status_json(snapshot_with_peers(), {"n1", "0.1.0", ""});
  std::string table;
  ASSERT_TRUE(rcsubmit::render_status_table(json, table)) << table;
  EXPECT_NE(table.find("n1 (rcbroker 0.1.0), accepting, up 1h 2m 3s"), std::string::npos) << table;
  EXPECT_NE(table.find("3 free of 4 registered"), std::string::npos) << table;
  EXPECT_NE(table.find("WORKER"), std::string::npos) << table;
  // name, capacity 4 and in flight 1 on one line
  auto line_start = table.find("worker#2 (tcp 127.0.0.1:40000)");
  ASSERT_NE(line_start, std::string::npos) << table;
  auto line = table.substr(line_start, table.find('\n', line_start) - line_start);
  EXPECT_NE(line.find("  4  "), std::string::npos) << line;
  EXPECT_EQ(line.back(), '1') << line;
  EXPECT_NE(table.find("client#3 (unix)"), std::string::npos) << table;
  EXPECT_EQ(table.find("cluster"), std::string::npos) << "not clustered: no cluster section";
}

TEST(StatusRender, TableRefusesWhatIsNotAStatus) {
  std::string table;
  EXPECT_FALSE(rcsubmit::render_status_table("not json", table));
  EXPECT_FALSE(rcsubmit::render_status_table(R"({"a":1})", table));
  EXPECT_FALSE(rcsubmit::render_status_table("[]", table));
}

TEST(StatusRender, MembersShowWithTheirLinksTraffic) {
  auto s = snapshot_with_peers();
  // Member n2 is linked: its outbound half (actor 21) offers 2 slots and ran 5 tasks, its
  // inbound half (actor 22) brought 3; n3 is being retried.
  s.switchboard.cluster_link_loads = {{21, 2, 1, 5}};
  s.switchboard.client_peers.push_back({22, 0, 0, 3});
  s.members = {{"n2", "10.0.0.2:51520", "linked", 1'700'000'000'000, true, 0, 21, 22},
               {"", "10.0.0.3:51520", "retrying", 1'700'000'000'000, false, 4, 0, 0}};
  s.cluster_connections = 1;
  s.cluster_refused_oversized = 7;
  auto json = admin::render_status_json(s, {"n1", "0.1.0", ""});
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  auto n2 = doc["cluster"]["members"].at(0);
  EXPECT_EQ(std::string_view{n2["name"]}, "n2");
  EXPECT_EQ(std::string_view{n2["state"]}, "linked");
  EXPECT_EQ(std::uint64_t{n2["free_slots"]}, 2u);
  EXPECT_EQ(std::uint64_t{n2["tasks_sent"]}, 5u);
  EXPECT_EQ(std::uint64_t{n2["tasks_received"]}, 3u);
  EXPECT_TRUE(bool{n2["listed"]});
  auto n3 = doc["cluster"]["members"].at(1);
  EXPECT_EQ(std::string_view{n3["state"]}, "retrying");
  EXPECT_EQ(std::uint64_t{n3["failures"]}, 4u);
  EXPECT_EQ(std::uint64_t{doc["cluster"]["connections"]["refused_oversized"]}, 7u);

  std::string table;
  ASSERT_TRUE(rcsubmit::render_status_table(json, table)) << table;
  auto line_start = table.find("n2 10.0.0.2:51520");
  ASSERT_NE(line_start, std::string::npos) << table;
  auto line = table.substr(line_start, table.find('\n', line_start) - line_start);
  EXPECT_NE(line.find("linked for"), std::string::npos) << line;
  EXPECT_NE(table.find("10.0.0.3:51520"), std::string::npos) << table;
  EXPECT_NE(table.find("retrying for"), std::string::npos) << table;
}

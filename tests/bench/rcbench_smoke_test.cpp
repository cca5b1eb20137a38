// rcbench end to end: a short bounded load through a real rcbroker process and the direct
// baseline, checked for counted, error-free results. Never timed: nothing here asserts speed.

#include "child_process.hpp"
#include "test_certificate.hpp"
#include "test_node.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <regex>
#include <sstream>

using namespace rcbroker::test_support;

namespace {

std::unique_ptr<child_process> start_node(const temp_dir& dir) {
  auto p = std::make_unique<child_process>(
      RCBROKER_BINARY,
      std::vector<std::string>{"--config", RCBROKER_SOURCE_DIR "/caf-application.conf", "--serve",
                               "socket://" + dir.path + "/c.sock", "--listen",
                               "socket://" + dir.path + "/w.sock"},
      dir.path + "/node.log");
  EXPECT_TRUE(p->log_contains("rcbroker ready")) << p->log();
  return p;
}

// What one rcbench run printed and how it ended.
struct bench_run {
  std::optional<int> exit_code;
  std::string json; ///< the summary line, empty when none was printed
  std::string log;
};

bench_run run_rcbench(const temp_dir& dir, const std::vector<std::string>& args) {
  child_process p{RCBENCH_BINARY, args, dir.path + "/bench.log"};
  bench_run r;
  r.exit_code = p.wait(60000);
  r.log = p.log();
  std::istringstream lines{r.log};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("{\"mode\":", 0) == 0)
      r.json = line;
  }
  return r;
}

// The number after "key": in a flat JSON line; -1 when absent.
double number(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos)
    return -1;
  return std::stod(json.substr(at + key.size() + 3));
}

// The results object, e.g. {"OK":123}.
std::string results(const std::string& json) {
  auto at = json.find("\"results\":");
  if (at == std::string::npos)
    return {};
  auto end = json.find('}', at);
  return json.substr(at + 10, end - at - 9);
}

const std::vector<std::string> shape{"--warmup", "0", "--duration", "1", "--clients",  "2",
                                     "--depth",  "4", "--workers",  "2", "--capacity", "8",
                                     "--json"};

void expect_clean_load(const bench_run& r) {
  ASSERT_EQ(r.exit_code, 0) << r.log;
  ASSERT_FALSE(r.json.empty()) << r.log;
  auto tasks = number(r.json, "tasks");
  EXPECT_GT(tasks, 0) << r.json;
  EXPECT_EQ(number(r.json, "errors"), 0) << r.json;
  std::ostringstream only_ok;
  only_ok << "{\"OK\":" << static_cast<long long>(tasks) << "}";
  EXPECT_EQ(results(r.json), only_ok.str()) << r.json;
}

} // namespace

TEST(Rcbench, LoadThroughTheNodeCountsOnlyOkResults) {
  temp_dir dir;
  auto node = start_node(dir);
  auto args = shape;
  args.insert(args.end(),
              {"--client-endpoint", "socket://" + dir.path + "/c.sock", "--worker-endpoint",
               "socket://" + dir.path + "/w.sock", "--broker-pid", std::to_string(node->pid())});
  auto r = run_rcbench(dir, args);
  expect_clean_load(r);
  EXPECT_EQ(r.json.rfind("{\"mode\":\"node\"", 0), 0u) << r.json;
  EXPECT_GE(number(r.json, "broker_cpu_s"), 0) << r.json;
  EXPECT_GT(number(r.json, "broker_rss_kib"), 0) << r.json;
}

TEST(Rcbench, DirectBaselineOverUnixSockets) {
  temp_dir dir;
  auto args = shape;
  args.insert(args.end(), {"--direct", "--client-endpoint", "socket://" + dir.path + "/c.sock"});
  auto r = run_rcbench(dir, args);
  expect_clean_load(r);
  EXPECT_EQ(r.json.rfind("{\"mode\":\"direct\"", 0), 0u) << r.json;
}

TEST(Rcbench, DirectBaselineOverTcp) {
  temp_dir dir;
  auto args = shape;
  args.insert(args.end(), {"--direct", "--client-endpoint", "tcp://127.0.0.1:1", "--threads", "2"});
  expect_clean_load(run_rcbench(dir, args));
}

TEST(Rcbench, IdleConnectionsReportNodeMemory) {
  temp_dir dir;
  auto node = start_node(dir);
  auto r = run_rcbench(dir, {"--idle-clients", "5", "--idle-workers", "2", "--hold", "0",
                             "--client-endpoint", "socket://" + dir.path + "/c.sock",
                             "--worker-endpoint", "socket://" + dir.path + "/w.sock",
                             "--broker-pid", std::to_string(node->pid()), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_EQ(number(r.json, "idle_clients"), 5) << r.json;
  EXPECT_EQ(number(r.json, "idle_workers"), 2) << r.json;
  EXPECT_GT(number(r.json, "rss_after_kib"), 0) << r.json;
}

TEST(Rcbench, LoadAndIdleConnectionsOverTls) {
  temp_dir dir;
  auto cert = make_self_signed(dir.path, "node");
  child_process node{RCBROKER_BINARY,
                     {"--config", RCBROKER_SOURCE_DIR "/caf-application.conf", "--serve",
                      "tls://127.0.0.1:0", "--listen", "tls://127.0.0.1:0", "--tls-cert", cert.cert,
                      "--tls-key", cert.key},
                     dir.path + "/node.log"};
  ASSERT_TRUE(node.log_contains("rcbroker ready")) << node.log();
  std::smatch m;
  auto log = node.log();
  ASSERT_TRUE(std::regex_search(
      log, m, std::regex{R"(ready: clients on (tls://\S+), workers on (tls://\S+))"}))
      << log;
  std::vector<std::string> endpoints{"--client-endpoint", m[1], "--worker-endpoint", m[2]};

  auto args = shape;
  args.insert(args.end(), endpoints.begin(), endpoints.end());
  args.insert(args.end(), {"--tls-ca", cert.cert});
  expect_clean_load(run_rcbench(dir, args));

  auto idle = endpoints;
  idle.insert(idle.end(),
              {"--idle-clients", "3", "--idle-workers", "2", "--hold", "0", "--broker-pid",
               std::to_string(node.pid()), "--tls-ca", cert.cert, "--json"});
  auto r = run_rcbench(dir, idle);
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_EQ(number(r.json, "idle_clients"), 3) << r.json;

  auto other = make_self_signed(dir.path, "other");
  auto wrong = shape;
  wrong.insert(wrong.end(), endpoints.begin(), endpoints.end());
  wrong.insert(wrong.end(), {"--tls-ca", other.cert});
  auto refused = run_rcbench(dir, wrong);
  EXPECT_EQ(refused.exit_code, 69) << refused.log;
  EXPECT_NE(refused.log.find("certificate verify failed"), std::string::npos) << refused.log;
}

TEST(Rcbench, NoNodeExitsNonZero) {
  temp_dir dir;
  auto args = shape;
  args.insert(args.end(), {"--client-endpoint", "socket://" + dir.path + "/none-c.sock",
                           "--worker-endpoint", "socket://" + dir.path + "/none-w.sock"});
  auto r = run_rcbench(dir, args);
  EXPECT_EQ(r.exit_code, 69) << r.log; // EX_UNAVAILABLE
  EXPECT_NE(r.log.find("cannot connect"), std::string::npos) << r.log;
}

TEST(Rcbench, BadCommandLineExits64) {
  temp_dir dir;
  auto r = run_rcbench(dir, {"--depth", "0"});
  EXPECT_EQ(r.exit_code, 64) << r.log;
  EXPECT_NE(r.log.find("--depth"), std::string::npos) << r.log;
}

TEST(Rcbench, TlsCertificateWithoutKeyOrDirectOverTlsExits64) {
  temp_dir dir;
  auto r = run_rcbench(dir, {"--tls-cert", "c.pem"});
  EXPECT_EQ(r.exit_code, 64) << r.log;
  EXPECT_NE(r.log.find("--tls-key"), std::string::npos) << r.log;
  r = run_rcbench(dir, {"--direct", "--client-endpoint", "tls://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 64) << r.log;
  EXPECT_NE(r.log.find("--direct"), std::string::npos) << r.log;
}

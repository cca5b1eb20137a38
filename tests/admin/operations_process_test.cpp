// The rcbroker binary's operating options: --check-config, structured logs with per-component
// levels, and the admin endpoint of a node process.

#include "child_process.hpp"
#include "exposition_checker.hpp"
#include "raw_peer.hpp"
#include "rcbroker/node/effective_settings.hpp"
#include "rcbroker/node/options.hpp"
#include "status_client.hpp"
#include "test_node.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <set>
#include <simdjson.h>
#include <sstream>

using namespace rcbroker;
using namespace rcbroker::test_support;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Runs rcbroker to its end; returns the exit code and what it printed.
std::pair<int, std::string> run_rcbroker(const temp_dir& dir,
                                         const std::vector<std::string>& args) {
  child_process p{RCBROKER_BINARY, args, dir.path + "/run.log"};
  auto code = p.wait();
  EXPECT_TRUE(code) << "rcbroker did not exit";
  return {code.value_or(-1), p.log()};
}

} // namespace

TEST(CheckConfig, PrintsEveryEffectiveSettingAndExitsZero) {
  temp_dir dir;
  auto conf = dir.path + "/node.conf";
  std::ofstream{conf} << "[broker]\nadmin=\"127.0.0.1:51580\"\nqueue-limit=3\n"
                         "log-levels=[\"switchboard=debug\"]\nlog-format=\"json\"\n";
  auto [code, out] = run_rcbroker(dir, {"--config", conf, "--check-config", "--cancel-grace",
                                        "750ms", "--log-file", dir.path + "/x.log"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\n[broker]\n"), std::string::npos) << out;
  for (auto& key : node::setting_keys())
    EXPECT_NE(out.find("\n" + key + " = "), std::string::npos) << "missing " << key << "\n" << out;
  EXPECT_NE(out.find("\nadmin = \"127.0.0.1:51580\"\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nqueue-limit = 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\ncancel-grace = 750ms\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nlog-levels = [\"switchboard=debug\"]\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nlog-format = \"json\"\n"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/x.log")) << "a check starts nothing";

  // The output is a config file that gives the same settings back.
  auto again = dir.path + "/again.conf";
  std::ofstream{again} << out;
  node::settings s;
  ASSERT_EQ(node::load_config_file(again, true, s), "");
  EXPECT_NE(out.find(node::render_settings(s)), std::string::npos) << out;
  EXPECT_EQ(s.queue_limit, 3u);
  EXPECT_EQ(s.cancel_grace, std::chrono::milliseconds{750});
}

TEST(CheckConfig, TakesTheOriginalsLogLevelSpellings) {
  temp_dir dir;
  auto [code, out] = run_rcbroker(
      dir, {"--check-config", "--log-level", "WARNING", "--log-level", "switchboard=DEBUG"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\nlog-level = \"warn\"\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nlog-levels = [\"switchboard=debug\"]\n"), std::string::npos) << out;
  auto conf = dir.path + "/node.conf";
  std::ofstream{conf} << "[broker]\nlog-level=\"Critical\"\nlog-levels=[\"admin=Info\"]\n";
  std::tie(code, out) = run_rcbroker(dir, {"--config", conf, "--check-config"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\nlog-level = \"critical\"\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nlog-levels = [\"admin=info\"]\n"), std::string::npos) << out;
  std::tie(code, out) = run_rcbroker(dir, {"--check-config", "--log-level", "LOUD"});
  EXPECT_EQ(code, 78) << out;
  EXPECT_NE(out.find("WARNING"), std::string::npos) << out;
}

TEST(CheckConfig, SaysWhichConfigFileItReadAndPrintsCafsSettings) {
  temp_dir dir;
  auto conf = dir.path + "/node.conf";
  std::ofstream{conf} << "[broker]\nqueue-limit=2\n[middleman]\nheartbeat-interval=2s\n";
  auto [code, out] = run_rcbroker(dir, {"--config", conf, "--check-config"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("; config file: " + conf + " (from --config)\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[scheduler] is not used"), std::string::npos) << out;
  EXPECT_NE(out.find("\n; [middleman]\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n;   heartbeat-interval = 2s\n"), std::string::npos) << out;
  // Without --config: $RCBROKER_CONFIG, then ./caf-application.conf, then /etc/rcbroker/.
  ::setenv("RCBROKER_CONFIG", conf.c_str(), 1);
  std::tie(code, out) = run_rcbroker(dir, {"--check-config"});
  ::unsetenv("RCBROKER_CONFIG");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("; config file: " + conf + " (from RCBROKER_CONFIG)\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\nqueue-limit = 2\n"), std::string::npos) << out;
  ::setenv("RCBROKER_CONFIG", (dir.path + "/missing.conf").c_str(), 1);
  std::tie(code, out) = run_rcbroker(dir, {"--check-config"});
  ::unsetenv("RCBROKER_CONFIG");
  EXPECT_EQ(code, 78) << out;
  EXPECT_NE(out.find("named by $RCBROKER_CONFIG"), std::string::npos) << out;
  if (!std::filesystem::exists("caf-application.conf") &&
      !std::filesystem::exists("/etc/rcbroker/caf-application.conf")) {
    std::tie(code, out) = run_rcbroker(dir, {"--check-config"});
    EXPECT_EQ(code, 0) << out;
    EXPECT_NE(out.find("; config file: none (no ./caf-application.conf nor "
                       "/etc/rcbroker/caf-application.conf): built-in defaults\n"),
              std::string::npos)
        << out;
  }
}

TEST(CheckConfig, FailsWhereAStartWouldOnTheFilesItNames) {
  temp_dir dir;
  auto missing = dir.path + "/missing.pem";
  auto [code, out] = run_rcbroker(dir, {"--check-config", "--serve", "tls://127.0.0.1:0",
                                        "--tls-cert", missing, "--tls-key", missing});
  EXPECT_EQ(code, 78) << out;
  EXPECT_NE(out.find("tls-cert"), std::string::npos) << out;
  std::tie(code, out) =
      run_rcbroker(dir, {"--check-config", "--cluster-port", "1", "--cluster-tls-cert", missing,
                         "--cluster-tls-key", missing, "--cluster-tls-ca", missing});
  EXPECT_EQ(code, 78) << out;
  EXPECT_NE(out.find("cluster-tls-cert"), std::string::npos) << out;
  std::tie(code, out) =
      run_rcbroker(dir, {"--check-config", "--log-file", dir.path + "/no/such/folder/x.log"});
  EXPECT_EQ(code, 78) << out;
  EXPECT_NE(out.find("log-file"), std::string::npos) << out;
}

TEST(CheckConfig, ShippedConfigurationsAreValid) {
  temp_dir dir;
  for (auto file : {RCBROKER_SOURCE_DIR "/caf-application.conf",
                    RCBROKER_SOURCE_DIR "/packaging/rcbroker-production.conf"}) {
    auto [code, out] = run_rcbroker(dir, {"--config", file, "--check-config"});
    EXPECT_EQ(code, 0) << file << "\n" << out;
  }
  auto [code, out] =
      run_rcbroker(dir, {"--config", RCBROKER_SOURCE_DIR "/packaging/rcbroker-production.conf",
                         "--check-config"});
  EXPECT_NE(out.find("\nadmin = \"127.0.0.1:51580\"\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nmax-frame-size = 4194304\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nstatus-interval = 1min\n"), std::string::npos) << out;
}

TEST(CheckConfig, RefusesBadOperationsSettingsByName) {
  temp_dir dir;
  auto bad_list = dir.path + "/bad-list.conf";
  std::ofstream{bad_list} << "[broker]\nlog-levels=[1, 2]\n";
  auto bad_admin = dir.path + "/bad-admin.conf";
  std::ofstream{bad_admin} << "[broker]\nadmin=\"localhost\"\n";
  struct bad_case {
    std::vector<std::string> args;
    std::string expected;
  };
  std::vector<bad_case> cases{
      {{"--admin", "nohost"}, "admin"},
      {{"--admin", "127.0.0.1:99999"}, "admin"},
      {{"--log-format", "xml"}, "log-format"},
      {{"--log-levels", "switchboard=loud"}, "log-levels"},
      {{"--log-levels", "nobody=debug"}, "log-levels"},
      {{"--config", bad_list}, "broker.log-levels"},
      {{"--config", bad_admin}, "admin"},
  };
  for (auto& c : cases) {
    auto args = c.args;
    args.push_back("--check-config");
    auto [code, out] = run_rcbroker(dir, args);
    EXPECT_EQ(code, 78) << out;
    EXPECT_NE(out.find("rcbroker: error: "), std::string::npos) << out;
    EXPECT_NE(out.find(c.expected), std::string::npos) << out;
  }
}

TEST(NodeOperations, JsonLogsPerComponentLevelsAndAdminEndpoint) {
  temp_dir dir;
  auto log_file = dir.path + "/node.jsonl";
  child_process p{RCBROKER_BINARY,
                  {"--config", RCBROKER_SOURCE_DIR "/caf-application.conf", "--serve",
                   "socket://" + dir.path + "/c.sock", "--listen",
                   "socket://" + dir.path + "/w.sock", "--admin", "127.0.0.1:0", "--log-format",
                   "json", "--log-file", log_file, "--log-levels", "switchboard=debug"},
                  dir.path + "/stderr.log"};
  std::smatch m;
  std::string log;
  std::regex admin_line{R"(admin endpoint on (http://127\.0\.0\.1:[0-9]+))"};
  // Waits (up to 5 s) until the log file holds `text`.
  auto wait_for_log = [&](const std::string& text) {
    for (int i = 0; i < 500 && log.find(text) == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
      log = read_file(log_file);
    }
    return log.find(text) != std::string::npos;
  };
  // The ready line comes once every endpoint listens.
  ASSERT_TRUE(wait_for_log("rcbroker ready")) << log << p.log();
  ASSERT_TRUE(std::regex_search(log, m, admin_line)) << log << p.log();
  std::string url = m[1];
  {
    raw_peer worker{"socket://" + dir.path + "/w.sock"};
    worker.send(original_register(3));
    rcsubmit::http_reply status;
    for (int i = 0; i < 500; ++i) {
      status = rcsubmit::http_get(url, "/status");
      if (status.body.find(R"("capacity":3)") != std::string::npos)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    ASSERT_EQ(status.status, 200u) << status.error;
    EXPECT_NE(status.body.find(R"("capacity":3)"), std::string::npos) << status.body;
    auto metrics = check_exposition(rcsubmit::http_get(url, "/metrics").body);
    EXPECT_TRUE(metrics.ok()) << metrics.error;
    EXPECT_EQ(metrics.value("rcbroker_slots_registered"), 3.0);
  }
  ASSERT_TRUE(wait_for_log("disconnected")) << "the worker's end is logged\n" << log;
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait(), 0) << p.log();

  // Every line is a JSON object; levels follow the component.
  std::set<std::pair<std::string, std::string>> seen; // component, level
  std::istringstream lines{read_file(log_file)};
  std::string line;
  simdjson::dom::parser parser;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
    std::string_view component, level, message, time;
    ASSERT_EQ(doc["component"].get(component), simdjson::SUCCESS) << line;
    ASSERT_EQ(doc["level"].get(level), simdjson::SUCCESS) << line;
    ASSERT_EQ(doc["message"].get(message), simdjson::SUCCESS) << line;
    ASSERT_EQ(doc["time"].get(time), simdjson::SUCCESS) << line;
    EXPECT_EQ(time.back(), 'Z') << line;
    seen.emplace(component, level);
  }
  EXPECT_GT(count, 5);
  EXPECT_TRUE(seen.count({"switchboard", "debug"})) << "switchboard=debug shows its debug lines";
  EXPECT_TRUE(seen.count({"switchboard", "info"}));
  EXPECT_TRUE(seen.count({"broker", "info"}));
  EXPECT_TRUE(seen.count({"connection", "info"}));
  EXPECT_TRUE(seen.count({"node", "info"}));
  EXPECT_FALSE(seen.count({"broker", "debug"})) << "the broker stays at log-level info";
  EXPECT_EQ(p.log().find("\"component\""), std::string::npos) << "no log lines on stderr";
}

TEST(NodeOperations, RcsubmitStatusPrintsTheWorkersAsATable) {
  test_node node{[](node::settings& s) { s.admin = "127.0.0.1:0"; }};
  raw_peer worker{node.worker_tcp};
  worker.send(original_register(6));
  ASSERT_TRUE(node.wait_for([](auto& s) { return s.registered_slots == 6; }));
  raw_peer client{node.client_tcp};
  client.send(original_run(new_cookie(), "hold", "{}"));
  ASSERT_TRUE(worker.receive());

  temp_dir dir;
  child_process p{
      RCSUBMIT_BINARY, {"--status", "--admin", node.get().admin_url()}, dir.path + "/status.txt"};
  ASSERT_EQ(p.wait(), 0) << p.log();
  auto out = p.log();
  EXPECT_NE(out.find("accepting"), std::string::npos) << out;
  EXPECT_NE(out.find("5 free of 6 registered; 1 task(s) open"), std::string::npos) << out;
  std::smatch m;
  // The worker's row: its name as in the logs, capacity 6, one task in flight.
  EXPECT_TRUE(
      std::regex_search(out, m, std::regex{R"(worker#[0-9]+ \(tcp 127\.0\.0\.1:[0-9]+\) +6 +1\n)"}))
      << out;
  EXPECT_TRUE(std::regex_search(out, m, std::regex{R"(client#[0-9]+ \(tcp [^)]+\) +1\n)"})) << out;

  child_process unreachable{
      RCSUBMIT_BINARY, {"--status", "--admin", "127.0.0.1:1"}, dir.path + "/unreachable.txt"};
  EXPECT_EQ(unreachable.wait(), 11) << unreachable.log();
  EXPECT_NE(unreachable.log().find("cannot get the status"), std::string::npos);
}

TEST(NodeOperations, SighupOpensTheLogFileAgainAndKeepsTheNodeRunning) {
  temp_dir dir;
  auto log_file = dir.path + "/node.log";
  auto client = "socket://" + dir.path + "/c.sock";
  child_process p{
      RCBROKER_BINARY,
      {"--serve", client, "--listen", "socket://" + dir.path + "/w.sock", "--log-file", log_file},
      dir.path + "/stderr.log"};
  auto wait_for = [&](const std::string& file, const std::string& text) {
    for (int i = 0; i < 500; ++i) {
      if (read_file(file).find(text) != std::string::npos)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    return false;
  };
  ASSERT_TRUE(wait_for(log_file, "rcbroker ready")) << p.log();
  // As logrotate does: move the file away, then SIGHUP.
  std::filesystem::rename(log_file, log_file + ".1");
  p.signal(SIGHUP);
  ASSERT_TRUE(wait_for(log_file, "SIGHUP: log file opened again")) << read_file(log_file + ".1");
  { raw_peer peer{client}; } // the node still serves: a connection is logged in the new file
  EXPECT_TRUE(wait_for(log_file, "client#1")) << read_file(log_file);
  EXPECT_EQ(read_file(log_file + ".1").find("SIGHUP"), std::string::npos);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0);
}

TEST(NodeOperations, SigtermWithDrainTimeoutLetsOpenTasksFinishAndRefusesNewOnes) {
  temp_dir dir;
  auto client = "socket://" + dir.path + "/c.sock";
  auto worker_url = "socket://" + dir.path + "/w.sock";
  child_process p{RCBROKER_BINARY,
                  {"--serve", client, "--listen", worker_url, "--drain-timeout", "10s"},
                  dir.path + "/node.log"};
  ASSERT_TRUE(p.log_contains("rcbroker ready")) << p.log();
  raw_peer worker{worker_url};
  worker.send(original_register(2));
  raw_peer c{client};
  auto cookie = run_until_accepted(c, worker);
  ASSERT_NE(cookie, "");
  p.signal(SIGTERM);
  ASSERT_TRUE(p.log_contains("draining")) << p.log();
  auto late = new_cookie();
  c.send(original_run(late, "p", "{}"));
  auto refused = c.receive();
  ASSERT_TRUE(refused);
  EXPECT_EQ(field(*refused, "cookie"), late);
  EXPECT_EQ(field(*refused, "rc"), "NO_CAPACITY");
  EXPECT_NE(field(*refused, "error").find("draining"), std::string::npos) << *refused;
  EXPECT_FALSE(p.wait(300)) << "the node waits for the open task";
  worker.send(original_result(cookie, R"("finished")"));
  auto result = c.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "rc"), "OK");
  EXPECT_EQ(p.wait(10000), 0);
  EXPECT_TRUE(p.log_contains("drained")) << p.log();
}

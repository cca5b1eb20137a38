// rcsubmit and rcworker end to end: an rcbroker, an rcworker and rcsubmit as child processes,
// checked by what rcsubmit prints and by the exit statuses.

#include "child_process.hpp"
#include "test_certificate.hpp"
#include "test_node.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <gtest/gtest.h>
#include <regex>
#include <simdjson.h>
#include <sstream>
#include <thread>

using rcbroker::test_support::child_process;
using namespace std::chrono_literals;

namespace {

using rcbroker::test_support::temp_dir;

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// How a tool run ended: exit status (nullopt: still running after the time limit) and output.
struct tool_run {
  std::optional<int> status;
  std::string out;
  std::string err;
};

/// What a tool run gets besides its arguments.
struct tool_input {
  std::optional<std::string> stdin_text; ///< nullopt: the test's stdin
  std::vector<std::string> environment;  ///< NAME=VALUE entries added to the test's
};

/// Runs `program` with `args` to completion (at most `limit_ms`), stdout and stderr apart.
tool_run run_tool(const temp_dir& dir, const std::string& program,
                  const std::vector<std::string>& args, int limit_ms = 10000,
                  const tool_input& input = {}) {
  static int runs = 0;
  auto base = dir.path + "/run" + std::to_string(++runs);
  std::string command = "exec env";
  for (auto& e : input.environment)
    command += " " + shell_quote(e);
  command += " " + shell_quote(program);
  for (auto& a : args)
    command += " " + shell_quote(a);
  if (input.stdin_text) {
    std::ofstream{base + ".in"} << *input.stdin_text;
    command += " <" + shell_quote(base + ".in");
  }
  command += " 2>" + shell_quote(base + ".err");
  child_process p{"/bin/sh", {"-c", command}, base + ".out"};
  tool_run r;
  r.status = p.wait(limit_ms);
  r.out = read_file(base + ".out");
  r.err = read_file(base + ".err");
  return r;
}

/// A child rcbroker on Unix sockets in `dir`, or on TCP ports the kernel picks.
struct node_process {
  std::unique_ptr<child_process> process;
  std::string client_url;
  std::string worker_url;
};

/// `tcp`: on 127.0.0.1 with `scheme` (tcp or tls) instead of Unix sockets; `extra` flags follow.
node_process start_node(const temp_dir& dir, bool tcp = false, const std::string& scheme = "tcp",
                        const std::vector<std::string>& extra = {}) {
  node_process node;
  std::string serve = tcp ? scheme + "://127.0.0.1:0" : "socket://" + dir.path + "/c.sock";
  std::string listen = tcp ? scheme + "://127.0.0.1:0" : "socket://" + dir.path + "/w.sock";
  std::vector<std::string> args{"--config", RCBROKER_SOURCE_DIR "/caf-application.conf",
                                "--serve",  serve,
                                "--listen", listen};
  args.insert(args.end(), extra.begin(), extra.end());
  node.process = std::make_unique<child_process>(RCBROKER_BINARY, args, dir.path + "/node.log");
  EXPECT_TRUE(node.process->log_contains("rcbroker ready")) << node.process->log();
  if (!tcp) {
    node.client_url = serve;
    node.worker_url = listen;
    return node;
  }
  // The ready line names the bound endpoints (the Broker's own lines may come after it).
  auto log = node.process->log();
  std::smatch m;
  if (std::regex_search(
          log, m,
          std::regex{R"(ready: clients on ((?:tcp|tls)://\S+), workers on ((?:tcp|tls)://\S+))"})) {
    node.client_url = m[1];
    node.worker_url = m[2];
  }
  EXPECT_FALSE(node.client_url.empty() || node.worker_url.empty()) << log;
  return node;
}

std::unique_ptr<child_process> start_worker(const temp_dir& dir, const node_process& node,
                                            std::vector<std::string> extra = {}) {
  static int workers = 0;
  std::vector<std::string> args{"--endpoint", node.worker_url, "--log-level", "debug"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto w = std::make_unique<child_process>(
      RCWORKER_BINARY, args, dir.path + "/worker" + std::to_string(++workers) + ".log");
  EXPECT_TRUE(w->log_contains("registered capacity")) << w->log();
  return w;
}

/// rcsubmit, again while it exits with NO_CAPACITY (3): a worker's REGISTER may still be on its
/// way when the worker logs it.
tool_run submit_until_served(const temp_dir& dir, const std::vector<std::string>& args,
                             const tool_input& input = {}) {
  tool_run r;
  for (int attempt = 0; attempt < 50; ++attempt) {
    r = run_tool(dir, RCSUBMIT_BINARY, args, 10000, input);
    if (r.status != 3)
      return r;
    std::this_thread::sleep_for(50ms);
  }
  return r;
}

/// The same, with the node's client endpoint as --endpoint.
tool_run submit_when_served(const temp_dir& dir, const node_process& node,
                            std::vector<std::string> args) {
  args.insert(args.begin(), {"--endpoint", node.client_url});
  return submit_until_served(dir, args);
}

} // namespace

TEST(Tools, SubmitPrintsWhatAnEchoWorkerReturns) {
  temp_dir dir;
  auto node = start_node(dir);
  auto worker = start_worker(dir, node, {"--capacity", "2"});
  auto r =
      submit_when_served(dir, node, {"--pipeline", "echo", "--variables", R"({"a": [1, "é"]})"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\"a\": [1, \"é\"]}\n");
  EXPECT_TRUE(worker->log_contains("done")) << worker->log();
}

TEST(Tools, SubmitAndWorkOverTcp) {
  temp_dir dir;
  auto node = start_node(dir, true);
  auto worker = start_worker(dir, node);
  auto r = submit_when_served(dir, node, {"--pipeline", "echo", "--variables", "[1, 2]"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[1, 2]\n");
}

TEST(Tools, SubmitAndWorkOverTlsWithATestCa) {
  temp_dir dir;
  auto cert = rcbroker::test_support::make_self_signed(dir.path, "node");
  auto node = start_node(dir, true, "tls", {"--tls-cert", cert.cert, "--tls-key", cert.key});
  ASSERT_EQ(node.client_url.rfind("tls://", 0), 0u) << node.process->log();
  auto worker = start_worker(dir, node, {"--tls-ca", cert.cert});
  auto r = submit_when_served(
      dir, node, {"--tls-ca", cert.cert, "--pipeline", "echo", "--variables", R"({"tls": true})"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\"tls\": true}\n");
  EXPECT_TRUE(worker->log_contains("done")) << worker->log();

  // The wrong CA: cannot connect (11), saying why.
  auto other = rcbroker::test_support::make_self_signed(dir.path, "other");
  auto wrong =
      run_tool(dir, RCSUBMIT_BINARY,
               {"--endpoint", node.client_url, "--tls-ca", other.cert, "--pipeline", "echo"});
  EXPECT_EQ(wrong.status, 11);
  EXPECT_NE(wrong.err.find("certificate verify failed"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("--tls-ca"), std::string::npos) << wrong.err;
}

TEST(Tools, SubmitAndWorkOverTlsWithClientCertificates) {
  temp_dir dir;
  auto cert = rcbroker::test_support::make_self_signed(dir.path, "node");
  auto mine = rcbroker::test_support::make_self_signed(dir.path, "client", "a-client");
  auto node =
      start_node(dir, true, "tls",
                 {"--tls-cert", cert.cert, "--tls-key", cert.key, "--tls-client-ca", mine.cert});
  auto worker = start_worker(
      dir, node, {"--tls-ca", cert.cert, "--tls-cert", mine.cert, "--tls-key", mine.key});
  auto r = submit_when_served(dir, node,
                              {"--tls-ca", cert.cert, "--tls-cert", mine.cert, "--tls-key",
                               mine.key, "--pipeline", "echo", "--variables", "[3]"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[3]\n");
  auto without =
      run_tool(dir, RCSUBMIT_BINARY,
               {"--endpoint", node.client_url, "--tls-ca", cert.cert, "--pipeline", "echo"});
  EXPECT_EQ(without.status, 11);
  EXPECT_NE(without.err.find("client certificate"), std::string::npos) << without.err;
  // With one the node does not trust: with TLS 1.3 its alert comes after the handshake, when the
  // RUN is already written; still a connection failure, not a run that lost its broker.
  auto stranger = rcbroker::test_support::make_self_signed(dir.path, "stranger", "a-client");
  auto refused = run_tool(dir, RCSUBMIT_BINARY,
                          {"--endpoint", node.client_url, "--tls-ca", cert.cert, "--tls-cert",
                           stranger.cert, "--tls-key", stranger.key, "--pipeline", "echo"});
  EXPECT_EQ(refused.status, 11) << refused.err;
  EXPECT_NE(refused.err.find("refused the client certificate"), std::string::npos) << refused.err;
}

TEST(Tools, SubmitTakesThePipelineAsAnArgumentAndVariablesFromStdinOrAFile) {
  temp_dir dir;
  auto node = start_node(dir);
  auto worker = start_worker(dir, node);
  auto r = submit_when_served(dir, node, {"echo", "--variables", R"({"x": 1})"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\"x\": 1}\n");

  // Both ways, the same name: fine.
  r = run_tool(dir, RCSUBMIT_BINARY,
               {"--endpoint", node.client_url, "echo", "--pipeline", "echo", "--variables", "[7]"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[7]\n");

  // From stdin, without the newline echo(1) adds.
  tool_input piped;
  piped.stdin_text = "{\"from\": \"stdin\"}\n";
  r = run_tool(dir, RCSUBMIT_BINARY, {"--endpoint", node.client_url, "echo", "--variables", "-"},
               10000, piped);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\"from\": \"stdin\"}\n");

  // From a file, read whole.
  auto file = dir.path + "/vars.json";
  std::ofstream{file} << "{\n  \"from\": \"file\",\n  \"n\": [1, 2]\n}\n";
  r = run_tool(dir, RCSUBMIT_BINARY,
               {"--endpoint", node.client_url, "--variables", "@" + file, "echo"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\n  \"from\": \"file\",\n  \"n\": [1, 2]\n}\n");

  // A file that is not there, or not JSON: usage errors that say so.
  r = run_tool(dir, RCSUBMIT_BINARY,
               {"--endpoint", node.client_url, "echo", "--variables", "@" + dir.path + "/none"});
  EXPECT_EQ(r.status, 64);
  EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir.path + "/none"), std::string::npos) << r.err;
  piped.stdin_text = "{oops";
  r = run_tool(dir, RCSUBMIT_BINARY, {"--endpoint", node.client_url, "echo", "--variables", "-"},
               10000, piped);
  EXPECT_EQ(r.status, 64);
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
}

TEST(Tools, SubmitTakesTheEndpointFromRcbrokerUrlUnlessGivenOne) {
  temp_dir dir;
  auto node = start_node(dir);
  auto worker = start_worker(dir, node);
  tool_input env;
  env.environment = {"RCBROKER_URL=" + node.client_url};
  auto r = submit_until_served(dir, {"echo", "--variables", "[1]"}, env);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[1]\n");

  // The flag wins over the environment.
  env.environment = {"RCBROKER_URL=socket://" + dir.path + "/none.sock"};
  r = run_tool(dir, RCSUBMIT_BINARY, {"--endpoint", node.client_url, "echo"}, 10000, env);
  EXPECT_EQ(r.status, 0) << r.err;
  r = run_tool(dir, RCSUBMIT_BINARY, {"echo"}, 10000, env);
  EXPECT_EQ(r.status, 11) << r.err;
  EXPECT_NE(r.err.find("none.sock"), std::string::npos) << r.err;

  // A bad URL in the environment is a usage error that names the variable.
  env.environment = {"RCBROKER_URL=http://[::1]:51502"};
  r = run_tool(dir, RCSUBMIT_BINARY, {"echo"}, 10000, env);
  EXPECT_EQ(r.status, 64);
  EXPECT_NE(r.err.find("RCBROKER_URL"), std::string::npos) << r.err;
}

TEST(Tools, StatusAsJsonIsTheNodesStatusDocument) {
  temp_dir dir;
  auto node = start_node(dir, false, "tcp", {"--admin", "127.0.0.1:0"});
  auto worker = start_worker(dir, node, {"--capacity", "3"});
  std::smatch m;
  auto log = node.process->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex{R"(admin endpoint on http://(\S+))"})) << log;
  std::string admin = m[1];
  tool_run r;
  for (int attempt = 0; attempt < 50; ++attempt) {
    r = run_tool(dir, RCSUBMIT_BINARY, {"--status", "--json", "--admin", admin});
    if (r.out.find(R"("registered":3)") != std::string::npos)
      break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(r.status, 0) << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(r.out).get(doc)) << r.out;
  ASSERT_TRUE(doc.is_object()) << r.out;
  std::uint64_t registered = 0;
  EXPECT_FALSE(doc["slots"]["registered"].get(registered)) << r.out;
  EXPECT_EQ(registered, 3u) << r.out;
  simdjson::dom::array workers;
  ASSERT_FALSE(doc["workers"].get(workers)) << r.out;
  EXPECT_EQ(workers.size(), 1u) << r.out;
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line: " << r.out;

  auto unreachable =
      run_tool(dir, RCSUBMIT_BINARY, {"--status", "--json", "--admin", "127.0.0.1:1"});
  EXPECT_EQ(unreachable.status, 11);
  EXPECT_EQ(unreachable.out, "");
}

TEST(Tools, WorkerExitsOnARefusedTokenAndDoesNotRetry) {
  temp_dir dir;
  auto node = start_node(dir, false, "tcp", {"--worker-token", "right"});
  auto started = std::chrono::steady_clock::now();
  auto r = run_tool(dir, RCWORKER_BINARY, {"--endpoint", node.worker_url, "--token", "wrong"});
  EXPECT_EQ(r.status, 77) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_NE(r.err.find("refused the registration"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Missing or wrong worker token"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("reconnecting"), std::string::npos) << r.err;
  r = run_tool(dir, RCWORKER_BINARY, {"--endpoint", node.worker_url});
  EXPECT_EQ(r.status, 77) << r.err;

  // The right token registers and serves, as before.
  auto worker = start_worker(dir, node, {"--token", "right"});
  auto served = submit_when_served(dir, node, {"echo", "--variables", "[5]"});
  EXPECT_EQ(served.status, 0) << served.err;
}

TEST(Tools, WorkerExitsWhenTheNodesCertificateDoesNotVerify) {
  temp_dir dir;
  auto cert = rcbroker::test_support::make_self_signed(dir.path, "node");
  auto other = rcbroker::test_support::make_self_signed(dir.path, "other");
  auto node = start_node(dir, true, "tls", {"--tls-cert", cert.cert, "--tls-key", cert.key});
  auto r = run_tool(dir, RCWORKER_BINARY, {"--endpoint", node.worker_url, "--tls-ca", other.cert});
  EXPECT_EQ(r.status, 77) << r.err;
  EXPECT_NE(r.err.find("certificate verify failed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("reconnecting"), std::string::npos) << r.err;
}

TEST(Tools, WorkerExitsWhenTheNodeRefusesItsCertificate) {
  temp_dir dir;
  auto cert = rcbroker::test_support::make_self_signed(dir.path, "node");
  auto trusted = rcbroker::test_support::make_self_signed(dir.path, "trusted", "a-client");
  auto stranger = rcbroker::test_support::make_self_signed(dir.path, "stranger", "a-client");
  auto node =
      start_node(dir, true, "tls",
                 {"--tls-cert", cert.cert, "--tls-key", cert.key, "--tls-client-ca", trusted.cert});
  // Without a certificate: the handshake says the node asks for one.
  auto r = run_tool(dir, RCWORKER_BINARY, {"--endpoint", node.worker_url, "--tls-ca", cert.cert});
  EXPECT_EQ(r.status, 77) << r.err;
  EXPECT_NE(r.err.find("client certificate"), std::string::npos) << r.err;
  // With one the node does not trust: with TLS 1.3 its alert comes after the handshake.
  r = run_tool(dir, RCWORKER_BINARY,
               {"--endpoint", node.worker_url, "--tls-ca", cert.cert, "--tls-cert", stranger.cert,
                "--tls-key", stranger.key});
  EXPECT_EQ(r.status, 77) << r.err;
  EXPECT_NE(r.err.find("refused the client certificate"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("reconnecting"), std::string::npos) << r.err;
}

TEST(Tools, WorkerRetriesWhileTheNodeCannotBeReached) {
  temp_dir dir;
  // No node yet: connection refused (no such socket) is transient, so the worker waits for one.
  node_process absent;
  absent.worker_url = "socket://" + dir.path + "/w.sock";
  absent.client_url = "socket://" + dir.path + "/c.sock";
  child_process worker{RCWORKER_BINARY, {"--endpoint", absent.worker_url}, dir.path + "/w.log"};
  EXPECT_TRUE(worker.log_contains("reconnecting")) << worker.log();
  EXPECT_FALSE(worker.wait(300).has_value()) << "still retrying: " << worker.log();
  auto node = start_node(dir);
  EXPECT_TRUE(worker.log_contains("registered capacity")) << worker.log();
  auto r = submit_when_served(dir, node, {"echo", "--variables", "[9]"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(Tools, ExecRunsAShellCommandPerTask) {
  temp_dir dir;
  auto node = start_node(dir);
  auto worker = start_worker(dir, node, {"--exec", R"(tr x X; printf ' %s' "$RC_PIPELINE")"});
  auto r = submit_when_served(dir, node, {"--pipeline", "upper", "--variables", R"({"x": 1})"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{\"X\": 1} upper\n");
}

TEST(Tools, EveryRunLandsOnAWorkerThatServesItsPipeline) {
  temp_dir dir;
  auto node = start_node(dir);
  auto echoes = start_worker(dir, node, {"--pipelines", "echo", "--capacity", "2"});
  auto names = start_worker(
      dir, node, {"--pipelines", "upper,shout", "--exec", R"(printf '"%s"' "$RC_PIPELINE")"});
  for (int i = 0; i < 4; ++i) {
    for (std::string pipeline : {"echo", "upper", "shout"}) {
      auto variables = "[" + std::to_string(i) + "]";
      auto r = submit_when_served(dir, node, {pipeline, "--variables", variables});
      EXPECT_EQ(r.status, 0) << pipeline << ": " << r.err;
      EXPECT_EQ(r.out, (pipeline == "echo" ? variables : "\"" + pipeline + "\"") + "\n")
          << "a RUN of " << pipeline << " reached the wrong worker";
    }
  }
  EXPECT_FALSE(echoes->log_contains("(pipeline 'upper')", 0)) << echoes->log();
  EXPECT_FALSE(names->log_contains("(pipeline 'echo')", 0)) << names->log();
  auto r = run_tool(dir, RCSUBMIT_BINARY, {"--endpoint", node.client_url, "other"});
  EXPECT_EQ(r.status, 3) << "no worker serves it";
  EXPECT_NE(r.err.find("No capacity available for pipeline 'other'"), std::string::npos) << r.err;
}

TEST(Tools, SubmitPrintsProgressLinesBeforeTheResult) {
  temp_dir dir;
  auto node = start_node(dir);
  auto worker = start_worker(
      dir, node, {"--exec", R"(echo '"one"' >&3; printf '{"two": 2}\n' >&3; sleep 0.1; cat)"});
  auto r = submit_when_served(dir, node, {"--progress", "echo", "--variables", "[3]"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "\"one\"\n{\"two\": 2}\n[3]\n");
  // Without --progress the node drops them.
  r = submit_when_served(dir, node, {"echo", "--variables", "[4]"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[4]\n");
}

TEST(Tools, SubmitWithRetriesCompletesOnASecondWorkerWhenTheFirstIsKilled) {
  temp_dir dir;
  auto node = start_node(dir);
  std::vector<std::unique_ptr<child_process>> workers;
  workers.push_back(start_worker(dir, node, {"--delay-ms", "2000"}));
  workers.push_back(start_worker(dir, node, {"--delay-ms", "2000"}));
  auto pending = std::async(std::launch::async, [&] {
    return submit_when_served(dir, node, {"--retries", "1", "job", "--variables", "[7]"});
  });
  // Whichever worker got the task dies with it.
  std::optional<std::size_t> first;
  for (int i = 0; i < 200 && !first; ++i) {
    for (std::size_t w = 0; w < workers.size() && !first; ++w) {
      if (workers[w]->log_contains("started (pipeline 'job')", 0))
        first = w;
    }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(first) << workers[0]->log() << workers[1]->log();
  workers[*first]->signal(SIGKILL);
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
  auto r = pending.get();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[7]\n");
  EXPECT_NE(r.err.find("attempts: 2"), std::string::npos) << r.err;
  EXPECT_TRUE(workers[1 - *first]->log_contains("started (pipeline 'job')", 0));
}

TEST(Tools, FailingCommandIsProcessorException) {
  temp_dir dir;
  auto node = start_node(dir);
  auto worker = start_worker(dir, node, {"--exec", "echo 'broken pipe fitting' >&2; exit 3"});
  auto r = submit_when_served(dir, node, {"--pipeline", "fail", "--variables", "{}"});
  EXPECT_EQ(r.status, 8) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("rc: PROCESSOR_EXCEPTION"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("error: broken pipe fitting"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stacktrace:"), std::string::npos) << r.err;
}

TEST(Tools, NoWorkerIsNoCapacity) {
  temp_dir dir;
  auto node = start_node(dir);
  auto r = run_tool(dir, RCSUBMIT_BINARY, {"--endpoint", node.client_url, "--pipeline", "echo"});
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("rc: NO_CAPACITY"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No capacity available"), std::string::npos) << r.err;
}

TEST(Tools, TimeoutCancelsTheTaskAndHasItsOwnStatus) {
  temp_dir dir;
  auto node = start_node(dir);
  auto worker = start_worker(dir, node, {"--delay-ms", "20000"});
  auto started = std::chrono::steady_clock::now();
  auto r = submit_when_served(dir, node, {"--pipeline", "slow", "--timeout", "0.5"});
  EXPECT_EQ(r.status, 10) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
  EXPECT_TRUE(worker->log_contains("cancelled")) << worker->log();
  EXPECT_TRUE(worker->log_contains("Cancelled")) << "the delay ends early on CANCEL";
}

TEST(Tools, DetachedSubmitReturnsAtOnce) {
  temp_dir dir;
  auto node = start_node(dir);
  auto worker = start_worker(dir, node, {"--delay-ms", "300"});
  auto r = submit_when_served(dir, node, {"--pipeline", "bg", "--detach"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(worker->log_contains("started (pipeline 'bg')")) << worker->log();
}

TEST(Tools, CannotConnectHasItsOwnStatus) {
  temp_dir dir;
  auto r = run_tool(dir, RCSUBMIT_BINARY,
                    {"--endpoint", "socket://" + dir.path + "/none.sock", "--pipeline", "echo"});
  EXPECT_EQ(r.status, 11);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
}

TEST(Tools, UsageErrorsExit64) {
  temp_dir dir;
  std::vector<std::vector<std::string>> submit_cases{
      {},
      {"--variables", "{}"},
      {"--pipeline"},
      {"--pipeline", "p", "--variables", "{not json"},
      {"--pipeline", "p", "--timeout", "soon"},
      {"--pipeline", "p", "--timeout", "-1"},
      {"--pipeline", "p", "--bogus"},
      {"--pipeline", "p", "--endpoint", "http://x"},
      {"--pipeline", "p", "--tls-cert", RCBROKER_SOURCE_DIR "/README.md"},
      {"--pipeline", "p", "--tls-key", RCBROKER_SOURCE_DIR "/README.md"},
      {"--pipeline", "p", "--tls-ca", dir.path + "/no-such-ca.pem"},
      {"one", "--pipeline", "two"},
      {"one", "two"},
      {"--pipeline", ""},
      {"p", "--variables", "@" + dir.path + "/no-such-file.json"},
      {"p", "--json"},
      {"p", "--priority", "high"},
      {"p", "--retries", "1001"},
      {"p", "--retries", "-1"},
      {"p", "--progress", "--detach"},
  };
  for (auto& args : submit_cases) {
    auto r = run_tool(dir, RCSUBMIT_BINARY, args);
    EXPECT_EQ(r.status, 64) << r.err;
    EXPECT_NE(r.err.find("rcsubmit --help"), std::string::npos) << r.err;
  }
  std::vector<std::vector<std::string>> worker_cases{
      {"--capacity", "0"},
      {"--capacity", "x"},
      {"--delay-ms", "-5"},
      {"--log-level", "loud"},
      {"--endpoint", "udp://x"},
      {"--endpoint", "http://127.0.0.1:1"},
      {"--what"},
      {"--token"},
      {"--tls-cert", "c.pem"},
      {"--tls-key", "k.pem"},
      {"--endpoint", "tls://127.0.0.1:1", "--tls-ca", dir.path + "/no-such-ca.pem"},
      {"--pipelines", ""},
      {"--pipelines", "a,,b"},
      {"--pipelines", "a,"},
  };
  for (auto& args : worker_cases) {
    auto r = run_tool(dir, RCWORKER_BINARY, args);
    EXPECT_EQ(r.status, 64) << r.err;
    EXPECT_NE(r.err.find("rcworker --help"), std::string::npos) << r.err;
  }
}

TEST(Tools, HelpExplainsEveryOptionAndExitStatus) {
  temp_dir dir;
  auto submit = run_tool(dir, RCSUBMIT_BINARY, {"--help"});
  EXPECT_EQ(submit.status, 0);
  for (auto text : {"--pipeline",
                    "--variables",
                    "--detach",
                    "--timeout",
                    "--endpoint",
                    "--tls-ca",
                    "--tls-cert",
                    "--tls-key",
                    "--help",
                    "tcp://[::1]:51500",
                    "0   OK",
                    "1   BAD_PACKET",
                    "2   UNSUPPORTED_PACKET_TYPE",
                    "3   NO_CAPACITY",
                    "4   COOKIE_NOT_FOUND",
                    "5   COOKIE_COLLISION",
                    "6   WORKER_WENT_AWAY",
                    "7   BROKER_WENT_AWAY",
                    "8   PROCESSOR_EXCEPTION",
                    "9   EXCEPTION",
                    "10  timeout",
                    "11  cannot connect",
                    "64  usage error",
                    "--json",
                    "--priority",
                    "--retries",
                    "--progress",
                    "RCBROKER_URL",
                    "@FILE"})
    EXPECT_NE(submit.out.find(text), std::string::npos) << text;
  auto worker = run_tool(dir, RCWORKER_BINARY, {"--help"});
  EXPECT_EQ(worker.status, 0);
  for (auto text : {"--capacity", "--endpoint", "--delay-ms", "--exec", "--token", "--log-level",
                    "--tls-ca", "--tls-cert", "--tls-key", "--help", "tcp://[::1]:51510", "69 ",
                    "77 ", "--pipelines", "descriptor 3"})
    EXPECT_NE(worker.out.find(text), std::string::npos) << text;
  // Within 80 columns.
  for (auto* out : {&submit.out, &worker.out}) {
    std::istringstream lines{*out};
    for (std::string line; std::getline(lines, line);)
      EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST(Tools, WorkerExitsZeroOnShutdownAndOnSigterm) {
  temp_dir dir;
  auto node = start_node(dir);
  auto first = start_worker(dir, node);
  auto second = start_worker(dir, node);
  second->signal(SIGTERM);
  EXPECT_EQ(second->wait(5000), 0) << second->log();
  node.process->signal(SIGTERM);
  EXPECT_EQ(node.process->wait(5000), 0);
  EXPECT_EQ(first->wait(5000), 0) << first->log();
  EXPECT_TRUE(first->log_contains("SHUTDOWN", 0)) << first->log();
}

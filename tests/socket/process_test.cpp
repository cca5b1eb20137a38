// The rcbroker binary as a separate process: start-up errors, signals and orderly shutdown.

#include "child_process.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

using namespace rcbroker::test_support;

namespace {

// Starts rcbroker with Unix endpoints in `dir` and waits until it is ready.
std::unique_ptr<child_process> start_node(const temp_dir& dir,
                                          std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--config", RCBROKER_SOURCE_DIR "/caf-application.conf",
                                "--serve",  "socket://" + dir.path + "/c.sock",
                                "--listen", "socket://" + dir.path + "/w.sock"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto p = std::make_unique<child_process>(RCBROKER_BINARY, args, dir.path + "/node.log");
  EXPECT_TRUE(p->log_contains("rcbroker ready")) << p->log();
  return p;
}

} // namespace

TEST(NodeProcess, SigtermShutsDownInOrder) {
  temp_dir dir;
  auto node = start_node(dir);
  raw_peer worker{"socket://" + dir.path + "/w.sock"};
  worker.send(original_register(2));
  raw_peer client{"socket://" + dir.path + "/c.sock"};
  auto cookie = run_until_accepted(client, worker); // once the REGISTER has landed
  ASSERT_FALSE(cookie.empty());
  node->signal(SIGTERM);
  auto shutdown = worker.receive();
  ASSERT_TRUE(shutdown);
  EXPECT_EQ(field(*shutdown, "packet_type"), "SHUTDOWN");
  auto went_away = client.receive();
  ASSERT_TRUE(went_away);
  EXPECT_EQ(field(*went_away, "rc"), "BROKER_WENT_AWAY");
  EXPECT_EQ(field(*went_away, "cookie"), cookie);
  EXPECT_TRUE(worker.closed_by_peer());
  EXPECT_TRUE(client.closed_by_peer());
  EXPECT_EQ(node->wait(), 0) << node->log();
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/c.sock"));
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/w.sock"));
}

TEST(NodeProcess, SigintExitsZero) {
  temp_dir dir;
  auto node = start_node(dir);
  node->signal(SIGINT);
  EXPECT_EQ(node->wait(), 0) << node->log();
  EXPECT_TRUE(node->log_contains("SIGINT"));
}

TEST(NodeProcess, LogsWhereItListens) {
  temp_dir dir;
  auto node = start_node(dir);
  EXPECT_TRUE(node->log_contains("listening for clients on socket://" + dir.path + "/c.sock"));
  EXPECT_TRUE(node->log_contains("listening for workers on socket://" + dir.path + "/w.sock"));
}

TEST(NodeProcess, EndpointInUseFailsAtStart) {
  temp_dir dir;
  // A node on a busy TCP port: the port the kernel gave a test node.
  test_node busy;
  child_process second{RCBROKER_BINARY,
                       {"--config", RCBROKER_SOURCE_DIR "/caf-application.conf", "--serve",
                        busy.client_tcp, "--listen", "socket://" + dir.path + "/w2.sock"},
                       dir.path + "/second.log"};
  auto code = second.wait();
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_NE(second.log().find("cannot bind"), std::string::npos) << second.log();
}

TEST(NodeProcess, BadOptionsAndConfigAreRefusedByName) {
  temp_dir dir;
  struct bad_case {
    std::vector<std::string> args;
    std::string expected_text;
    int expected_code; // 64: the command line does not parse; 78: the settings are not valid
  };
  std::string bad_conf = dir.path + "/bad.conf";
  std::ofstream{bad_conf} << "[broker]\nqueue-limt=5\n";
  std::string bad_type = dir.path + "/bad-type.conf";
  std::ofstream{bad_type} << "[broker]\ncancel-grace=\"soon\"\n";
  std::vector<bad_case> cases{
      {{"--no-such-flag"}, "unknown option --no-such-flag", 64},
      {{"--serve", "ftp://x"}, "unsupported scheme", 78},
      {{"--listen", "http://127.0.0.1:0"}, "http:// serves clients only", 78},
      {{"--max-frame-size", "lots"}, "--max-frame-size", 64},
      {{"--config", bad_conf}, "broker.queue-limt", 78},
      {{"--config", bad_type}, "broker.cancel-grace", 78},
      {{"--config", dir.path + "/missing.conf"}, "cannot read config file", 78},
      {{"--log-level", "loud"}, "log-level", 78},
  };
  for (auto& c : cases) {
    child_process p{RCBROKER_BINARY, c.args, dir.path + "/out.log"};
    auto code = p.wait();
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, c.expected_code) << c.expected_text;
    EXPECT_NE(p.log().find(c.expected_text), std::string::npos) << p.log();
  }
}

TEST(NodeProcess, HelpExplainsEveryOption) {
  temp_dir dir;
  child_process p{RCBROKER_BINARY, {"--help"}, dir.path + "/help.log"};
  EXPECT_EQ(p.wait(), 0);
  auto text = p.log();
  for (auto flag : {"--serve", "--listen", "--config", "--max-frame-size", "--cancel-grace",
                    "--queue-limit", "--cancel-orphans", "--log-level", "--status-interval",
                    "--io-threads", "--max-write-queue"})
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
}

// The hardening options of the rcbroker binary: --help, start-up errors, and the worker token
// from the environment (which --check-config never prints).

#include "child_process.hpp"
#include "raw_peer.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "test_node.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>

using namespace rcbroker::test_support;

namespace {

// Sets an environment variable for a scope (the child processes started in it inherit it).
struct scoped_env {
  scoped_env(const char* name, const char* value) : name(name) { ::setenv(name, value, 1); }
  ~scoped_env() { ::unsetenv(name); }
  const char* name;
};

std::vector<std::string> unix_endpoints(const temp_dir& dir) {
  return {"--config", RCBROKER_SOURCE_DIR "/caf-application.conf",
          "--serve",  "socket://" + dir.path + "/c.sock",
          "--listen", "socket://" + dir.path + "/w.sock"};
}

} // namespace

TEST(HardeningProcess, HelpExplainsTheHardeningOptions) {
  temp_dir dir;
  child_process p{RCBROKER_BINARY, {"--help"}, dir.path + "/help.log"};
  EXPECT_EQ(p.wait(), 0);
  auto text = p.log();
  for (auto flag : {"--max-client-connections", "--max-worker-connections", "--max-runs-per-client",
                    "--idle-timeout", "--tls-cert", "--tls-key", "--tls-client-ca",
                    "--unix-socket-mode", "--worker-token", "RCBROKER_WORKER_TOKEN", "tls://"})
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
}

TEST(HardeningProcess, ATlsEndpointWithoutCertificateFailsTheStartNamingTheOption) {
  temp_dir dir;
  child_process p{RCBROKER_BINARY,
                  {"--config", RCBROKER_SOURCE_DIR "/caf-application.conf", "--serve",
                   "tls://127.0.0.1:0", "--listen", "socket://" + dir.path + "/w.sock"},
                  dir.path + "/out.log"};
  auto code = p.wait();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 78); // EX_CONFIG
  EXPECT_NE(p.log().find("tls-cert"), std::string::npos) << p.log();
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/w.sock")) << "nothing may be bound";
}

TEST(HardeningProcess, TheWorkerTokenComesFromTheEnvironment) {
  temp_dir dir;
  scoped_env env{"RCBROKER_WORKER_TOKEN", "from-the-environment"};
  child_process node{RCBROKER_BINARY, unix_endpoints(dir), dir.path + "/node.log"};
  ASSERT_TRUE(node.log_contains("rcbroker ready")) << node.log();
  raw_peer plain{"socket://" + dir.path + "/w.sock"};
  plain.send(original_register(1));
  auto reply = plain.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "BAD_PACKET");
  raw_peer worker{"socket://" + dir.path + "/w.sock"};
  worker.send(std::string{rcbroker::protocol::make_register(1, "from-the-environment").payload()});
  raw_peer client{"socket://" + dir.path + "/c.sock"};
  // The REGISTER and the RUN travel on different sockets: retry the RUN until the slot is there.
  bool ran = false;
  for (int attempt = 0; attempt < 50 && !ran; ++attempt) {
    auto cookie = new_cookie();
    client.send(original_run(cookie, "echo", "{}"));
    if (auto run = worker.receive(100)) {
      ran = field(*run, "cookie") == cookie;
      break;
    }
    auto answer = client.receive();
    ASSERT_TRUE(answer);
    ASSERT_EQ(field(*answer, "rc"), "NO_CAPACITY");
  }
  EXPECT_TRUE(ran);
  EXPECT_EQ(node.log().find("from-the-environment"), std::string::npos);
}

TEST(HardeningProcess, CheckConfigNeverPrintsTheWorkerToken) {
  temp_dir dir;
  scoped_env env{"RCBROKER_WORKER_TOKEN", "env-secret"};
  auto args = unix_endpoints(dir);
  args.insert(args.end(), {"--worker-token", "flag-secret", "--check-config"});
  child_process p{RCBROKER_BINARY, args, dir.path + "/check.log"};
  EXPECT_EQ(p.wait(), 0) << p.log();
  auto out = p.log();
  EXPECT_NE(out.find("\nworker-token = \"(set, not shown)\"\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret"), std::string::npos) << out;
  EXPECT_NE(out.find("\nunix-socket-mode = \"0660\"\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nmax-runs-per-client = 10000\n"), std::string::npos) << out;
}

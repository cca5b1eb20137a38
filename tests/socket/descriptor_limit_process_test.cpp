// The rcbroker binary against its file descriptor limit: it raises the soft limit to the hard
// one, refuses to start when the connection limits cannot fit, says so at start when they can,
// and only warns when a connection limit is 0 (no limit).

#include "child_process.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

using namespace rcbroker::test_support;

namespace {

std::vector<std::string> node_args(const temp_dir& dir, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--config", RCBROKER_SOURCE_DIR "/caf-application.conf",
                                "--serve",  "socket://" + dir.path + "/c.sock",
                                "--listen", "socket://" + dir.path + "/w.sock"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

/// The "Max open files" line of /proc/PID/limits.
std::string open_files_line(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/limits"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Max open files", 0) == 0)
      return line;
  return {};
}

} // namespace

TEST(DescriptorLimit, ConnectionLimitsOverTheDescriptorLimitStopTheStartSayingWhatToDo) {
  temp_dir dir;
  for (bool check : {false, true}) {
    auto args = node_args(dir);
    if (check)
      args.push_back("--check-config");
    // The defaults (10000 client and 1000 worker connections) under a hard limit of 256.
    child_process p{RCBROKER_BINARY, args, dir.path + "/out.log", open_files_limit{256, 256}};
    auto code = p.wait();
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 78) << p.log(); // EX_CONFIG
    auto log = p.log();
    EXPECT_NE(log.find("rcbroker: error: too few file descriptors: max-client-connections "
                       "(10000) + max-worker-connections (1000) + 64 for listeners, admin, "
                       "cluster and log need 11064, but the process may open only 256 "
                       "(RLIMIT_NOFILE, hard limit 256); raise the limit (ulimit -n 11064 in the "
                       "shell that starts rcbroker, LimitNOFILE=11064 or more in its systemd "
                       "unit) or lower max-client-connections and max-worker-connections until "
                       "their sum + 64 fits"),
              std::string::npos)
        << log;
    EXPECT_FALSE(std::filesystem::exists(dir.path + "/c.sock")) << "nothing may be bound";
  }
}

TEST(DescriptorLimit, LimitsThatFitStartWithTheSoftLimitRaisedAndTheBudgetLogged) {
  temp_dir dir;
  child_process node{
      RCBROKER_BINARY,
      node_args(dir, {"--max-client-connections", "300", "--max-worker-connections", "100"}),
      dir.path + "/node.log", open_files_limit{128, 512}};
  ASSERT_TRUE(node.log_contains("rcbroker ready")) << node.log();
  EXPECT_NE(node.log().find("file descriptors: limit 512 (raised from 128 to the hard limit); "
                            "300 client + 100 worker connections + 64 reserved need 464"),
            std::string::npos)
      << node.log();
  std::istringstream limits{open_files_line(node.pid())};
  std::string max, open, files, soft, hard;
  limits >> max >> open >> files >> soft >> hard;
  EXPECT_EQ(soft, "512") << open_files_line(node.pid());
  EXPECT_EQ(hard, "512") << open_files_line(node.pid());
  raw_peer client{"socket://" + dir.path + "/c.sock"};
  client.send(original_cancel(new_cookie()));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "COOKIE_NOT_FOUND");
}

TEST(DescriptorLimit, NoConnectionLimitStartsWithAWarning) {
  temp_dir dir;
  child_process node{RCBROKER_BINARY, node_args(dir, {"--max-client-connections", "0"}),
                     dir.path + "/node.log", open_files_limit{256, 256}};
  ASSERT_TRUE(node.log_contains("rcbroker ready")) << node.log();
  auto log = node.log();
  EXPECT_NE(log.find("file descriptors: limit 256; connections: no limit "
                     "(max-client-connections 0)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("max-client-connections 0 (no limit): connections may take all 256 file "
                     "descriptors, and then no worker can REGISTER and the admin endpoint cannot "
                     "answer"),
            std::string::npos)
      << log;
}

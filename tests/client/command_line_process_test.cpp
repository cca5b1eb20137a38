// The command-line conventions every program shares (rcbroker/cli): --version, --help within 80
// columns, usage errors (exit 64, "TOOL: MESSAGE" and "Try 'TOOL --help'."), --opt VALUE and
// --opt=VALUE alike; and rcbroker's exit statuses for a bad configuration (78) and an endpoint it
// cannot bind (69). Each program runs as a process, as a user runs it.

#include "child_process.hpp"
#include "test_node.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

using rcbroker::test_support::child_process;
using rcbroker::test_support::temp_dir;

namespace {

struct program {
  const char* name;
  const char* binary;
  std::vector<std::string> missing_value; ///< a valued option given without its value
  std::vector<std::string> bad_value;     ///< a valued option given a value it refuses
};

const std::vector<program>& programs() {
  static const std::vector<program> all{
      {"rcbroker", RCBROKER_BINARY, {"--config"}, {"--max-frame-size", "lots"}},
      {"rcsubmit", RCSUBMIT_BINARY, {"echo", "--endpoint"}, {"echo", "--retries", "1001"}},
      {"rcworker", RCWORKER_BINARY, {"--capacity"}, {"--capacity", "0"}},
      {"rcbench", RCBENCH_BINARY, {"--clients"}, {"--depth", "0"}},
  };
  return all;
}

struct outcome {
  std::optional<int> code;
  std::string output; ///< stdout and stderr
};

outcome run(const temp_dir& dir, const std::string& binary, const std::vector<std::string>& args) {
  static int runs = 0;
  child_process p{binary, args, dir.path + "/run" + std::to_string(++runs) + ".log"};
  outcome o;
  o.code = p.wait(20000);
  o.output = p.log();
  return o;
}

/// The same arguments with the last option's value joined to it: "--opt=VALUE".
std::vector<std::string> joined(std::vector<std::string> args) {
  auto value = args.back();
  args.pop_back();
  args.back() += "=" + value;
  return args;
}

} // namespace

TEST(CommandLine, EveryProgramPrintsTheProjectVersion) {
  temp_dir dir;
  for (auto& p : programs()) {
    auto r = run(dir, p.binary, {"--version"});
    EXPECT_EQ(r.code, 0) << p.name << "\n" << r.output;
    EXPECT_EQ(r.output, std::string{p.name} + " " + RCBROKER_PROJECT_VERSION + "\n") << p.name;
  }
}

TEST(CommandLine, EveryHelpFitsIn80ColumnsAndNamesVersion) {
  temp_dir dir;
  for (auto& p : programs()) {
    auto r = run(dir, p.binary, {"--help"});
    EXPECT_EQ(r.code, 0) << p.name << "\n" << r.output;
    EXPECT_NE(r.output.find("--version"), std::string::npos) << p.name;
    EXPECT_NE(r.output.find("64"), std::string::npos) << p.name << ": the usage error's status";
    std::istringstream lines{r.output};
    std::size_t number = 0;
    for (std::string line; std::getline(lines, line);) {
      ++number;
      EXPECT_LE(line.size(), 80u) << p.name << " --help, line " << number << ": " << line;
    }
    EXPECT_GT(number, 10u) << p.name;
  }
}

TEST(CommandLine, AnUnknownOptionIsAUsageErrorNamingIt) {
  temp_dir dir;
  for (auto& p : programs()) {
    auto r = run(dir, p.binary, {"--no-such-option"});
    EXPECT_EQ(r.code, 64) << p.name << "\n" << r.output;
    EXPECT_NE(r.output.find(std::string{p.name} + ": unknown option --no-such-option\n"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find(std::string{"Try '"} + p.name + " --help'."), std::string::npos)
        << r.output;
  }
}

TEST(CommandLine, AMissingValueIsAUsageErrorNamingTheOption) {
  temp_dir dir;
  for (auto& p : programs()) {
    auto r = run(dir, p.binary, p.missing_value);
    EXPECT_EQ(r.code, 64) << p.name << "\n" << r.output;
    EXPECT_NE(r.output.find("option " + p.missing_value.back() + " needs a value"),
              std::string::npos)
        << r.output;
  }
}

TEST(CommandLine, ValuesAreReadAlikeAfterASpaceAndAfterAnEqualsSign) {
  temp_dir dir;
  for (auto& p : programs()) {
    auto spaced = run(dir, p.binary, p.bad_value);
    auto equals = run(dir, p.binary, joined(p.bad_value));
    EXPECT_EQ(spaced.code, 64) << p.name << "\n" << spaced.output;
    EXPECT_EQ(equals.code, 64) << p.name << "\n" << equals.output;
    EXPECT_EQ(spaced.output, equals.output) << p.name;
    auto option = p.bad_value[p.bad_value.size() - 2];
    EXPECT_NE(spaced.output.find(option), std::string::npos) << spaced.output;
  }
}

TEST(CommandLine, SwitchesRefuseAValue) {
  temp_dir dir;
  for (auto& p : programs()) {
    auto r = run(dir, p.binary, {"--help=yes"});
    EXPECT_EQ(r.code, 64) << p.name << "\n" << r.output;
    EXPECT_NE(r.output.find("option --help takes no value"), std::string::npos) << r.output;
  }
}

TEST(CommandLine, RcworkerTakesTheOriginalsLogLevelSpellings) {
  temp_dir dir;
  for (auto level : {"WARNING", "Debug", "warn", "CRITICAL"}) {
    auto r = run(dir, RCWORKER_BINARY, {"--log-level", level, "--version"});
    EXPECT_EQ(r.code, 0) << level << "\n" << r.output;
  }
  auto r = run(dir, RCWORKER_BINARY, {"--log-level", "LOUD", "--version"});
  EXPECT_EQ(r.code, 64) << r.output;
  EXPECT_NE(r.output.find("--log-level"), std::string::npos) << r.output;
}

TEST(CommandLine, RcbrokerExits78OnABadConfigurationAnd69WhenItCannotBind) {
  temp_dir dir;
  auto r = run(dir, RCBROKER_BINARY, {"--config", dir.path + "/missing.conf"});
  EXPECT_EQ(r.code, 78) << r.output;
  EXPECT_NE(r.output.find("rcbroker: error: cannot read config file"), std::string::npos)
      << r.output;
  r = run(dir, RCBROKER_BINARY, {"--config", dir.path + "/missing.conf", "--check-config"});
  EXPECT_EQ(r.code, 78) << r.output;

  // A port another socket holds.
  int held = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(held, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(held, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(held, 1), 0);
  socklen_t size = sizeof address;
  ASSERT_EQ(::getsockname(held, reinterpret_cast<sockaddr*>(&address), &size), 0);
  auto port = std::to_string(ntohs(address.sin_port));
  r = run(dir, RCBROKER_BINARY,
          {"--config", RCBROKER_SOURCE_DIR "/caf-application.conf", "--serve",
           "tcp://127.0.0.1:" + port, "--listen", "socket://" + dir.path + "/w.sock"});
  ::close(held);
  EXPECT_EQ(r.code, 69) << r.output;
  EXPECT_NE(r.output.find("rcbroker: error: "), std::string::npos) << r.output;
}

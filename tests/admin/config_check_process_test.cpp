// Every section and key of the rcbroker binary's config file is checked, at start and by
// --check-config alike: a misspelt section or key, or a value CAF cannot use, stops the start
// (exit 78, EX_CONFIG) naming the file, the line and the setting, instead of being ignored.

#include "child_process.hpp"
#include "test_node.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

using namespace rcbroker::test_support;

namespace {

struct outcome {
  int code = -1;
  std::string error; ///< the "rcbroker: error: ..." line, without its prefix
  std::string log;
};

/// Runs rcbroker with the config file `conf` (plus --check-config when `check`) to its end.
outcome run_with(const temp_dir& dir, const std::string& conf, bool check) {
  std::vector<std::string> args{"--config", conf,
                                "--serve",  "socket://" + dir.path + "/c.sock",
                                "--listen", "socket://" + dir.path + "/w.sock"};
  if (check)
    args.push_back("--check-config");
  child_process p{RCBROKER_BINARY, args, dir.path + "/run.log"};
  outcome o;
  o.code = p.wait().value_or(-1); // -1: still running (the child is killed at the scope's end)
  o.log = p.log();
  constexpr std::string_view prefix = "rcbroker: error: ";
  if (auto at = o.log.find(prefix); at != std::string::npos)
    o.error = o.log.substr(at + prefix.size(), o.log.find('\n', at) - at - prefix.size());
  return o;
}

/// Starts with a config file of `text`, then checks it: both must stop with exit 78 and the same
/// error, which is returned with the file's path as "node.conf".
std::string refusal(const temp_dir& dir, const std::string& text) {
  auto conf = dir.path + "/node.conf";
  std::ofstream{conf} << text;
  auto start = run_with(dir, conf, false);
  auto check = run_with(dir, conf, true);
  EXPECT_EQ(start.code, 78) << start.log;
  EXPECT_EQ(check.code, 78) << check.log;
  EXPECT_EQ(start.error, check.error) << "--check-config must say what a start says";
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/c.sock")) << "nothing may be bound";
  if (start.error.rfind(conf, 0) != 0)
    return start.error;
  return "node.conf" + start.error.substr(conf.size());
}

/// The start of `text`, to compare the part of a long error that a test is about.
std::string head(const std::string& text, std::size_t n) {
  return text.substr(0, n);
}

} // namespace

TEST(ConfigNames, AMisspeltSectionStopsTheStartNamingFileLineAndKey) {
  temp_dir dir;
  // Silently ignored, this would turn worker authentication off.
  EXPECT_EQ(refusal(dir, "; a node\n[brokr]\nworker-token = \"x\"\n"),
            "node.conf:3: unknown setting brokr.worker-token: there is no section [brokr] (did "
            "you mean [broker]?); the sections are [broker] and CAF's [logger], [middleman], "
            "[opencl], [openssl], [scheduler], [stream], [work-stealing]; fix the section's name "
            "or remove it");
}

TEST(ConfigNames, AnUnknownKeyInACafSectionStopsTheStart) {
  temp_dir dir;
  EXPECT_EQ(refusal(dir, "[middleman]\nheartbeat-interval=1s\n\n[scheduler]\npolicy='sharing'\n"
                         "  max-treads = 4\n[broker]\nqueue-limit=1\n"),
            "node.conf:6: unknown setting scheduler.max-treads (did you mean max-threads?): CAF's "
            "section [scheduler] has the keys policy, max-threads, max-throughput, "
            "enable-profiling, profiling-resolution, profiling-output-file; fix its name or "
            "remove it");
}

TEST(ConfigNames, UnknownBrokerKeysGlobalKeysAndEmptySectionsNameTheirLines) {
  temp_dir dir;
  EXPECT_EQ(refusal(dir, "[broker]\nqueue-limit=1\nqueue-limt=5\n"),
            "node.conf:3: unknown setting broker.queue-limt (did you mean queue-limit?): fix its "
            "name or remove it (rcbroker --help lists the keys of [broker])");
  std::string global = "node.conf:1: unknown setting worker-token: a key before the first "
                       "[section] header";
  EXPECT_EQ(head(refusal(dir, "worker-token=\"x\"\n[broker]\n"), global.size()), global);
  std::string empty = "node.conf:3: unknown section [midleman] (did you mean [middleman]?)";
  EXPECT_EQ(head(refusal(dir, "[broker]\nqueue-limit=1\n[midleman]\n"), empty.size()), empty);
  std::string bad = "node.conf:3: bad value for broker.cancel-grace";
  EXPECT_EQ(head(refusal(dir, "[broker]\n\ncancel-grace = \"soon\"\n"), bad.size()), bad);
}

TEST(ConfigValues, ACafValueOfTheWrongTypeStopsTheStart) {
  temp_dir dir;
  // CAF 0.17 would keep the string and run with its default policy.
  EXPECT_EQ(refusal(dir, "[scheduler]\npolicy = \"sharing\"\n"),
            "node.conf:2: bad value for scheduler.policy: expected atom (in single quotes, e.g. "
            "'sharing')");
}

TEST(ConfigNames, EveryKnownSectionAndKeyPasses) {
  temp_dir dir;
  auto conf = dir.path + "/node.conf";
  std::ofstream{conf}
      << "[scheduler]\nmax-threads=2\n[work-stealing]\nrelaxed-sleep-duration=10ms\n"
         "[logger]\nverbosity='quiet'\n[stream]\nmax-batch-delay=5ms\n"
         "[middleman]\nheartbeat-interval=1s\n[broker]\nqueue-limit=2\n";
  auto check = run_with(dir, conf, true);
  EXPECT_EQ(check.code, 0) << check.log;
  EXPECT_NE(check.log.find("\nqueue-limit = 2\n"), std::string::npos) << check.log;
}

// Finding the line of a setting in a config file's text, and the check of names and CAF's values
// on the forms of the file format that the process tests do not use (nested sections, {...}
// values, [global]), and the reading of sizes and durations.

#include "rcbroker/node/config_check.hpp"
#include "rcbroker/node/options.hpp"
#include "test_node.hpp"

#include <caf/actor_system_config.hpp>
#include <fstream>
#include <gtest/gtest.h>

using rcbroker::node::check_config_file;
using rcbroker::node::config_line;

TEST(ConfigLine, FindsKeysInTheirSectionsAndHeaders) {
  std::string text = "; comment\n"
                     "top = 1\n"
                     "[scheduler]\n"
                     "  policy   = 'sharing' ; the policy\n"
                     "[ middleman ]\n"
                     "policy=1\n"
                     "app = { inner = 2,\n"
                     "  other = 3 }\n"
                     "[a.b]\n"
                     "c=4\n"
                     "[global]\n"
                     "late=5\n"
                     "[empty]\n";
  EXPECT_EQ(config_line(text, {"top"}), 2u);
  EXPECT_EQ(config_line(text, {"scheduler", "policy"}), 4u);
  EXPECT_EQ(config_line(text, {"middleman", "policy"}), 6u) << "the key of its own section";
  EXPECT_EQ(config_line(text, {"middleman", "app", "other"}), 7u) << "the key holding it";
  EXPECT_EQ(config_line(text, {"a", "b", "c"}), 10u);
  EXPECT_EQ(config_line(text, {"late"}), 12u);
  EXPECT_EQ(config_line(text, {"empty"}), 13u);
  EXPECT_EQ(config_line(text, {"scheduler", "policyx"}), 3u) << "else its section's header";
  EXPECT_EQ(config_line(text, {"nowhere", "key"}), 0u);
}

TEST(ConfigNames, NestedSectionsAndValuesAreCheckedByTheirWholeName) {
  rcbroker::test_support::temp_dir dir;
  auto check = [&](const std::string& text) {
    auto file = dir.path + "/t.conf";
    std::ofstream{file} << text;
    auto parsed = caf::actor_system_config::parse_config_file(file.c_str());
    EXPECT_TRUE(parsed) << text;
    auto err = parsed ? check_config_file(file, *parsed, {"queue-limit"}) : "unparsed";
    return err.empty() ? err : err.substr(file.size());
  };
  EXPECT_EQ(check("[global]\nconfig-file=\"x\"\n[scheduler]\n[broker]\nqueue-limit=1\n"), "");
  EXPECT_EQ(check("[caf.scheduler]\npolicy='sharing'\n")
                .rfind(":2: unknown setting caf.scheduler.policy: there is no section [caf];", 0),
            0u);
  EXPECT_EQ(check("[scheduler.x]\ny=1\n").rfind(":1: unknown setting scheduler.x: CAF's", 0), 0u);
  EXPECT_EQ(check("[logger]\nverbosity='quiet'\nfoo={a=1}\n")
                .rfind(":3: unknown setting logger.foo: CAF's section [logger] has the keys", 0),
            0u);
  EXPECT_EQ(check("[middleman]\nconnection-timeout=\"5s\"\n"),
            ":2: bad value for middleman.connection-timeout: expected timespan (a duration "
            "without quotes, e.g. 1s or 500ms)");
  EXPECT_EQ(check("[scheduler]\nmax-threads=-1\n"),
            ":2: bad value for scheduler.max-threads: expected uint64 (a number without quotes)");
  EXPECT_EQ(check("[middleman]\nhearbeat-interval=1s\n")
                .rfind(":2: unknown setting middleman.hearbeat-interval (did you mean "
                       "heartbeat-interval?)",
                       0),
            0u);
}

TEST(ConfigValues, SizesAndDurationsThatOverflowAreErrors) {
  using namespace rcbroker::node;
  auto apply = [](std::vector<std::string> args) {
    settings s;
    auto cl = parse_command_line(args);
    EXPECT_EQ(cl.error, "");
    return std::make_pair(apply_command_line(cl, s), s);
  };
  auto [err, s] = apply({"--max-frame-size", "17179869185GiB"});
  EXPECT_NE(err.find("bad value '17179869185GiB' for --max-frame-size"), std::string::npos) << err;
  std::tie(err, s) = apply({"--max-write-queue", "18446744073709551615"});
  EXPECT_EQ(err, "") << "the largest count itself is a value";
  std::tie(err, s) = apply({"--max-write-queue", "18446744073709551616"});
  EXPECT_NE(err, "") << "one more does not fit";
  std::tie(err, s) = apply({"--cancel-grace", "1e300s"});
  EXPECT_NE(err.find("--cancel-grace"), std::string::npos) << err;
  std::tie(err, s) = apply({"--cancel-grace", "2min"});
  EXPECT_EQ(err, "");
  EXPECT_EQ(s.cancel_grace, std::chrono::minutes{2});
}

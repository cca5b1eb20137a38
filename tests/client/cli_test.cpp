// The command-line module every program shares (rcbroker/cli/command_line.hpp), on its own:
// how arguments are split, and how --help text is wrapped.

#include "rcbroker/cli/command_line.hpp"

#include <gtest/gtest.h>
#include <sstream>

using namespace rcbroker::cli;

namespace {

std::vector<argument> all(std::vector<std::string> args) {
  argument_reader reader{std::move(args)};
  std::vector<argument> out;
  while (auto a = reader.next())
    out.push_back(*a);
  return out;
}

std::size_t widest_line(const std::string& text) {
  std::istringstream lines{text};
  std::size_t widest = 0;
  for (std::string line; std::getline(lines, line);)
    widest = std::max(widest, line.size());
  return widest;
}

} // namespace

TEST(Cli, AValueFollowsItsOptionAfterASpaceOrAnEqualsSign) {
  argument_reader reader{{"--endpoint", "tcp://x", "--endpoint=socket:///a=b", "--token="}};
  auto a = reader.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "--endpoint");
  EXPECT_EQ(reader.value_of(*a), "tcp://x");
  a = reader.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "--endpoint");
  EXPECT_EQ(reader.value_of(*a), "socket:///a=b") << "split at the first '=' only";
  a = reader.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(reader.value_of(*a), "") << "an empty value is a value";
  EXPECT_FALSE(reader.next());
}

TEST(Cli, AMissingValueIsNoneAndNamesTheOption) {
  argument_reader reader{{"--capacity"}};
  auto a = reader.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(reader.value_of(*a), std::nullopt);
  EXPECT_EQ(needs_value(*a), "option --capacity needs a value");
  EXPECT_EQ(unknown_option(*a), "unknown option --capacity");
  EXPECT_EQ(no_value_expected(*a), "");
  EXPECT_EQ(no_value_expected(all({"--help=1"}).at(0)), "option --help takes no value");
}

TEST(Cli, DashDashEndsTheOptionsAndADashAloneIsPositional) {
  auto args = all({"-", "--json", "--", "--not-an-option", "-x"});
  ASSERT_EQ(args.size(), 4u);
  EXPECT_TRUE(args[0].positional);
  EXPECT_EQ(args[0].name, "-");
  EXPECT_FALSE(args[1].positional);
  EXPECT_TRUE(args[2].positional);
  EXPECT_EQ(args[2].name, "--not-an-option");
  EXPECT_TRUE(args[3].positional);
  EXPECT_FALSE(all({"-x=1"}).at(0).inline_value) << "only long options take =VALUE";
}

TEST(Cli, HelpIsWrappedWithAHangingIndentWithin80Columns) {
  std::string long_text;
  for (int i = 0; i < 40; ++i)
    long_text += "word" + std::to_string(i) + " ";
  auto text = option_help("--flag N", long_text);
  EXPECT_LE(widest_line(text), help_width) << text;
  EXPECT_EQ(text.rfind("  --flag N", 0), 0u) << text;
  EXPECT_EQ(text.substr(help_column, 5), "word0") << text;
  EXPECT_NE(text.find("\n" + std::string(help_column, ' ') + "word"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
  // A flag too wide for the column gets a line of its own.
  auto wide = option_help("--retries-on-worker-loss N", "short", 27);
  EXPECT_EQ(wide, "  --retries-on-worker-loss N\n" + std::string(27, ' ') + "short\n");
  // A word wider than the line stays whole, on a line of its own.
  auto url = wrap("see " + std::string(100, 'u') + " there", 0);
  EXPECT_EQ(url, "see\n" + std::string(100, 'u') + "\nthere\n");
}

TEST(Cli, UsageErrorsAndVersionHaveOneForm) {
  std::ostringstream err;
  EXPECT_EQ(usage_error("rcworker", "unknown option --x", err), exit_code::usage);
  EXPECT_EQ(err.str(), "rcworker: unknown option --x\nTry 'rcworker --help'.\n");
  EXPECT_EQ(exit_code::usage, 64);
  EXPECT_EQ(exit_code::unavailable, 69);
  EXPECT_EQ(exit_code::config, 78);
  EXPECT_EQ(version_text("rcbench"), std::string{"rcbench "} + version() + "\n");
  EXPECT_EQ(std::string{version()}, RCBROKER_PROJECT_VERSION);
}

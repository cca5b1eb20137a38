// The JSON Lines log formatter on its own: every record is one valid JSON object.

#include "rcbroker/logging/component.hpp"
#include "rcbroker/logging/json_formatter.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sstream>

using namespace rcbroker;

TEST(JsonFormatter, EachRecordIsOneJsonObject) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  sink->set_formatter(std::make_unique<logging::json_formatter>());
  spdlog::logger log{"switchboard", sink};
  log.set_level(spdlog::level::trace);
  std::string tricky = "quote \" backslash \\ newline \n tab \t bad utf8 \xff end";
  log.warn("peer said: {}", tricky);
  log.debug("second");

  std::istringstream lines{out.str()};
  std::string first, second, extra;
  ASSERT_TRUE(std::getline(lines, first));
  ASSERT_TRUE(std::getline(lines, second));
  EXPECT_FALSE(std::getline(lines, extra)) << "one line per record";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(first).get(doc), simdjson::SUCCESS) << first;
  EXPECT_EQ(std::string_view{doc["level"]}, "warn");
  EXPECT_EQ(std::string_view{doc["component"]}, "switchboard");
  EXPECT_EQ(std::string_view{doc["message"]},
            "peer said: quote \" backslash \\ newline \n tab \t bad utf8 \xEF\xBF\xBD end");
  EXPECT_GT(std::uint64_t{doc["thread"]}, 0u);
  std::string_view time = doc["time"];
  EXPECT_EQ(time.size(), std::string_view{"2026-11-28T14:22:15.123456Z"}.size()) << time;
  ASSERT_EQ(parser.parse(second).get(doc), simdjson::SUCCESS) << second;
  EXPECT_EQ(std::string_view{doc["level"]}, "debug");
}

TEST(LogComponents, NamesParseAndFallBackToTheDefaultLogger) {
  EXPECT_EQ(logging::parse_component("connection"), logging::component::connection);
  EXPECT_EQ(logging::parse_component("admin"), logging::component::admin);
  EXPECT_FALSE(logging::parse_component("Switchboard"));
  // Nothing installed in this process: components log through spdlog's default logger.
  EXPECT_EQ(&logging::logger(logging::component::broker), spdlog::default_logger_raw());
}

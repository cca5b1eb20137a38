// Reading the packets a worker gets: RUN, CANCEL, SHUTDOWN, as original clients and the broker
// write them.

#include "rcbroker/protocol/packet_builder.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "rcbroker/protocol/run_reader.hpp"
#include "raw_peer.hpp"

#include <gtest/gtest.h>

using namespace rcbroker::protocol;

namespace {

constexpr const char* cookie_text = "0f8fad5b-d9cb-469f-a165-70867728950e";

run_reading read(std::string_view payload) {
  return read_run_packet(frame{payload});
}

} // namespace

TEST(RunReader, ReadsAnOriginalClientsRun) {
  auto r = read(rcbroker::testing::original_run(cookie_text, "echo", R"({"x": "\"q\""})", true));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::run);
  EXPECT_EQ(r.fields.cookie, cookie::parse(cookie_text));
  EXPECT_EQ(r.fields.pipeline, "echo");
  EXPECT_EQ(r.fields.variables, R"({"x": "\"q\""})");
  EXPECT_TRUE(r.fields.detach);
}

TEST(RunReader, ReadsCancelAndShutdown) {
  auto cancel = read(rcbroker::testing::original_cancel(cookie_text));
  ASSERT_TRUE(cancel.ok()) << cancel.error;
  EXPECT_EQ(cancel.fields.type, packet_type::cancel);
  EXPECT_EQ(cancel.fields.cookie, cookie::parse(cookie_text));
  auto shutdown = read_run_packet(make_shutdown());
  ASSERT_TRUE(shutdown.ok()) << shutdown.error;
  EXPECT_EQ(shutdown.fields.type, packet_type::shutdown);
}

TEST(RunReader, NullVariablesAndDetachReadAsAbsent) {
  auto r = read(std::string{R"({"packet_type":"RUN","cookie":")"} + cookie_text +
                R"(","pipeline":"p","variables":null,"detach":null})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(r.fields.variables);
  EXPECT_FALSE(r.fields.detach);
}

TEST(RunReader, RefusesWhatABrokerNeverSends) {
  std::string c = std::string{R"("cookie":")"} + cookie_text + "\"";
  std::vector<std::pair<std::string, std::string>> cases{
      {R"({"packet_type":)", "invalid JSON"},
      {"nonsense", "packet is not a JSON object"},
      {R"({"cookie":null})", "missing packet_type"},
      {R"({"packet_type":"PING"})", "unknown packet_type 'PING'"},
      {R"({"packet_type":"RUN","pipeline":"p"})", "missing cookie"},
      {R"({"packet_type":"CANCEL"})", "missing cookie"},
      {R"({"packet_type":"RUN",)" + c + "}", "missing pipeline"},
      {R"({"packet_type":"RUN",)" + c + R"(,"pipeline":""})", "missing pipeline"},
      {R"({"packet_type":"RUN",)" + c + R"(,"pipeline":"p","variables":{"x":1}})",
       "field 'variables' must be a string"},
      {R"({"packet_type":"RUN",)" + c + R"(,"pipeline":"p","detach":"yes"})",
       "field 'detach' must be a boolean"},
  };
  for (auto& [payload, reason] : cases) {
    auto r = read(payload);
    EXPECT_FALSE(r.ok()) << payload;
    EXPECT_EQ(r.error, reason) << payload;
  }
}

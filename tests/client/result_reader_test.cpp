// Reading the RESULTs a client gets, from workers (original form) and from the broker.

#include "rcbroker/protocol/packet_builder.hpp"
#include "rcbroker/protocol/result_reader.hpp"
#include "raw_peer.hpp"

#include <gtest/gtest.h>

using namespace rcbroker::protocol;

namespace {

constexpr const char* cookie_text = "0f8fad5b-d9cb-469f-a165-70867728950e";

result_reading read(std::string_view payload) {
  return read_result_packet(frame{payload});
}

} // namespace

TEST(ResultReader, ReadsAnOriginalWorkersResult) {
  auto r = read(rcbroker::testing::original_result(cookie_text, R"({"y": "\u00e9"})"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::result);
  EXPECT_EQ(r.fields.cookie, cookie::parse(cookie_text));
  EXPECT_EQ(r.fields.rc, result_code::ok);
  EXPECT_EQ(r.fields.result, R"({"y": "\u00e9"})");
  EXPECT_FALSE(r.fields.error);
  EXPECT_FALSE(r.fields.stacktrace);
}

TEST(ResultReader, ReadsABrokerMadeResult) {
  auto r = read(std::string{R"({"packet_type":"RESULT","cookie":")"} + cookie_text +
                R"(","rc":"NO_CAPACITY","error":"No capacity available"})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.rc, result_code::no_capacity);
  EXPECT_EQ(r.fields.error, "No capacity available");
  EXPECT_FALSE(r.fields.result);
}

TEST(ResultReader, ReadsErrorAndStacktraceAndSkipsUnknownFields) {
  auto r = read(std::string{R"({"extra":{"deep":[1,{"x":null}]},"packet_type":"RESULT",)"} +
                R"("cookie":")" + cookie_text +
                R"(","rc":"PROCESSOR_EXCEPTION","error":"bo\"om","stacktrace":["a","b\nc"]})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.rc, result_code::processor_exception);
  EXPECT_EQ(r.fields.error, "bo\"om");
  ASSERT_TRUE(r.fields.stacktrace);
  EXPECT_EQ(*r.fields.stacktrace, (std::vector<std::string>{"a", "b\nc"}));
}

TEST(ResultReader, ReadsWhatTheBuilderWrites) {
  auto c = *cookie::parse(cookie_text);
  auto r =
      read_result_packet(make_task_result(c, result_code::exception, std::string{"null"},
                                          std::string{"Cancelled"}, std::vector<std::string>{"x"}));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.cookie, c);
  EXPECT_EQ(r.fields.rc, result_code::exception);
  EXPECT_EQ(r.fields.result, "null");
  EXPECT_EQ(r.fields.error, "Cancelled");
}

TEST(ResultReader, RefusesWhatIsNotAUsableResult) {
  std::string c = std::string{R"("cookie":")"} + cookie_text + "\"";
  struct bad_case {
    std::string payload;
    std::string reason;
  };
  std::vector<bad_case> cases{
      {"", "empty frame"},
      {"{not json", "invalid JSON"},
      {"[1,2]", "packet is not a JSON object"},
      {R"({"packet_type":"RESULT","rc":"OK"} {})", "invalid JSON"},
      {R"({"packet_type":"RESULT",)" + c + R"(,"rc":"MAYBE"})", "unknown rc 'MAYBE'"},
      {R"({"packet_type":"RUN",)" + c + "}", "not a RESULT packet"},
      {R"({"packet_type":"SHUTDOWN"})", "not a RESULT packet"},
      {R"({"packet_type":"RESULT",)" + c + "}", "RESULT without rc"},
      {R"({"packet_type":"RESULT",)" + c + R"(,"rc":"OK","result":{"x":1}})",
       "field 'result' must be a string"},
      {R"({"packet_type":"RESULT",)" + c + R"(,"rc":"OK","stacktrace":"one line"})",
       "field 'stacktrace' must be an array of strings"},
      {R"({"packet_type":"RESULT",)" + c + R"(,"rc":"OK","stacktrace":[1]})",
       "field 'stacktrace' must be an array of strings"},
      {R"({"packet_type":"RESULT","cookie":"not-a-uuid","rc":"OK"})", "cookie is not a UUID"},
      {R"({"packet_type":7})", "field 'packet_type' must be a string"},
  };
  for (auto& bad : cases) {
    auto r = read(bad.payload);
    EXPECT_FALSE(r.ok()) << bad.payload;
    EXPECT_EQ(r.error, bad.reason) << bad.payload;
  }
}

TEST(ResultReader, KeepsTheCookieOfABadResult) {
  auto r = read(std::string{R"({"packet_type":"RESULT","cookie":")"} + cookie_text +
                R"(","rc":"WHAT"})");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.fields.cookie, cookie::parse(cookie_text));
}

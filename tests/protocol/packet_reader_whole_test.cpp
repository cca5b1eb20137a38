// Reading every field (read_scope::whole), as the client and worker libraries do: the RESULTs a
// client gets (from workers in the original form, and from the broker), and the RUN, CANCEL and
// SHUTDOWN a worker gets, with the checks each side adds (check_result_packet,
// check_worker_packet).

#include "raw_peer.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <gtest/gtest.h>

using namespace rcbroker::protocol;

namespace {

constexpr const char* cookie_text = "0f8fad5b-d9cb-469f-a165-70867728950e";

// As a library reads what the broker sends it, with its side's check.
read_result read_checked(std::string_view payload, std::string (*check)(const packet_fields&)) {
  auto r = read_packet(frame{payload}, read_scope::whole);
  if (r.ok())
    r.error = check(r.fields);
  return r;
}

// As the client library reads what the broker sends it.
read_result read_as_client(std::string_view payload) {
  return read_checked(payload, check_result_packet);
}

read_result read_as_client(const frame& f) {
  return read_as_client(f.payload());
}

// As the worker library reads what the broker sends it.
read_result read_as_worker(std::string_view payload) {
  return read_checked(payload, check_worker_packet);
}

read_result read_as_worker(const frame& f) {
  return read_as_worker(f.payload());
}

} // namespace

TEST(ReadWholeResult, ReadsAnOriginalWorkersResult) {
  auto r =
      read_as_client(rcbroker::test_support::original_result(cookie_text, R"({"y": "\u00e9"})"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::result);
  EXPECT_EQ(r.fields.cookie, cookie::parse(cookie_text));
  EXPECT_EQ(r.fields.rc, result_code::ok);
  EXPECT_EQ(r.fields.result, R"({"y": "\u00e9"})");
  EXPECT_FALSE(r.fields.error);
  EXPECT_FALSE(r.fields.stacktrace);
}

TEST(ReadWholeResult, ReadsABrokerMadeResult) {
  auto r = read_as_client(std::string{R"({"packet_type":"RESULT","cookie":")"} + cookie_text +
                          R"(","rc":"NO_CAPACITY","error":"No capacity available"})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.rc, result_code::no_capacity);
  EXPECT_EQ(r.fields.error, "No capacity available");
  EXPECT_FALSE(r.fields.result);
}

TEST(ReadWholeResult, ReadsErrorAndStacktraceAndSkipsUnknownFields) {
  auto r = read_as_client(
      std::string{R"({"extra":{"deep":[1,{"x":null}]},"packet_type":"RESULT",)"} + R"("cookie":")" +
      cookie_text + R"(","rc":"PROCESSOR_EXCEPTION","error":"bo\"om","stacktrace":["a","b\nc"]})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.rc, result_code::processor_exception);
  EXPECT_EQ(r.fields.error, "bo\"om");
  ASSERT_TRUE(r.fields.stacktrace);
  EXPECT_EQ(*r.fields.stacktrace, (std::vector<std::string>{"a", "b\nc"}));
}

TEST(ReadWholeResult, ReadsWhatTheBuilderWrites) {
  auto c = *cookie::parse(cookie_text);
  auto r = read_as_client(make_result(c, result_code::exception, std::string{"null"},
                                      std::string{"Cancelled"}, std::vector<std::string>{"x"}));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.cookie, c);
  EXPECT_EQ(r.fields.rc, result_code::exception);
  EXPECT_EQ(r.fields.result, "null");
  EXPECT_EQ(r.fields.error, "Cancelled");
}

TEST(ReadWholeResult, RefusesWhatIsNotAUsableResult) {
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
    auto r = read_as_client(bad.payload);
    EXPECT_FALSE(r.ok()) << bad.payload;
    EXPECT_EQ(r.error, bad.reason) << bad.payload;
  }
}

TEST(ReadWholeResult, KeepsTheCookieOfABadResult) {
  auto r = read_as_client(std::string{R"({"packet_type":"RESULT","cookie":")"} + cookie_text +
                          R"(","rc":"WHAT"})");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.fields.cookie, cookie::parse(cookie_text));
}

TEST(ReadWholeForWorker, ReadsAnOriginalClientsRun) {
  auto r = read_as_worker(
      rcbroker::test_support::original_run(cookie_text, "echo", R"({"x": "\"q\""})", true));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::run);
  EXPECT_EQ(r.fields.cookie, cookie::parse(cookie_text));
  EXPECT_EQ(r.fields.pipeline, "echo");
  EXPECT_EQ(r.fields.variables, R"({"x": "\"q\""})");
  EXPECT_TRUE(r.fields.detach);
}

TEST(ReadWholeForWorker, ReadsCancelAndShutdown) {
  auto cancel = read_as_worker(rcbroker::test_support::original_cancel(cookie_text));
  ASSERT_TRUE(cancel.ok()) << cancel.error;
  EXPECT_EQ(cancel.fields.type, packet_type::cancel);
  EXPECT_EQ(cancel.fields.cookie, cookie::parse(cookie_text));
  auto shutdown = read_as_worker(make_shutdown());
  ASSERT_TRUE(shutdown.ok()) << shutdown.error;
  EXPECT_EQ(shutdown.fields.type, packet_type::shutdown);
}

TEST(ReadWholeForWorker, NullVariablesAndDetachReadAsAbsent) {
  auto r = read_as_worker(std::string{R"({"packet_type":"RUN","cookie":")"} + cookie_text +
                          R"(","pipeline":"p","variables":null,"detach":null})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(r.fields.variables);
  EXPECT_FALSE(r.fields.detach);
}

TEST(ReadWholeForWorker, RefusesWhatABrokerNeverSends) {
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
    auto r = read_as_worker(payload);
    EXPECT_FALSE(r.ok()) << payload;
    EXPECT_EQ(r.error, reason) << payload;
  }
}

TEST(ReadWholeResult, ReadsAttemptsWhenTheNodeAppendedThem) {
  auto c = *cookie::parse(cookie_text);
  auto f = append_integer_field(make_result(c, result_code::ok, std::string{"1"}), "attempts", 2);
  auto r = read_as_client(f);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.attempts, 2);
  EXPECT_FALSE(read_as_client(make_result(c, result_code::ok, std::string{"1"})).fields.attempts);
  // Routing leaves it alone: the node reads RESULTs without it.
  auto routed = read_packet(f);
  ASSERT_TRUE(routed.ok()) << routed.error;
  EXPECT_FALSE(routed.fields.attempts);
  // One of another type is not read, and makes no bad packet: reading for routing skips it.
  for (auto odd : {R"("2")", "2.5", "null", "[1]"}) {
    auto other = read_as_client(std::string{R"({"packet_type":"RESULT","cookie":")"} + cookie_text +
                                R"(","rc":"OK","attempts":)" + odd + "}");
    EXPECT_TRUE(other.ok()) << odd << ": " << other.error;
    EXPECT_FALSE(other.fields.attempts) << odd;
  }
}

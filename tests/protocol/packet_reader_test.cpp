#include "rcbroker/protocol/packet_reader.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace rcbroker::protocol {
namespace {

constexpr std::string_view cookie_text = "0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7";

cookie the_cookie() {
  return *cookie::parse(cookie_text);
}

read_result read(std::string_view json) {
  return read_packet(frame{json});
}

std::string cookie_field() {
  return R"("cookie":")" + std::string{cookie_text} + '"';
}

// Asserts a bad packet whose error contains `reason`.
void expect_bad(const read_result& r, std::string_view reason) {
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find(reason), std::string::npos)
      << "error '" << r.error << "' lacks '" << reason << "'";
}

// -- well-formed packets ----------------------------------------------------------------------

TEST(PacketReader, ReadsRunAsAnOriginalPeerWritesIt) {
  auto r = read(R"({"packet_type":"RUN","cookie":"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7",)"
                R"("capacity":null,"pipeline":"echo","variables":"{\"x\": 1}","detach":false,)"
                R"("rc":null,"error":null,"stacktrace":null,"result":null})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::run);
  EXPECT_EQ(r.fields.cookie, the_cookie());
  EXPECT_EQ(r.fields.capacity, std::nullopt);
  EXPECT_EQ(r.fields.pipeline, "echo");
  EXPECT_FALSE(r.fields.detach);
  EXPECT_EQ(r.fields.token, std::nullopt);
}

TEST(PacketReader, ReadsRegisterAsAnOriginalPeerWritesIt) {
  auto r = read(R"({"packet_type":"REGISTER","cookie":null,"capacity":4,"pipeline":null,)"
                R"("variables":null,"detach":null,"rc":null,"error":null,"stacktrace":null,)"
                R"("result":null})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::register_worker);
  EXPECT_EQ(r.fields.cookie, std::nullopt);
  EXPECT_EQ(r.fields.capacity, 4);
  EXPECT_EQ(r.fields.pipeline, std::nullopt);
  EXPECT_FALSE(r.fields.detach);
}

TEST(PacketReader, ReadsResultAsAnOriginalPeerWritesIt) {
  auto r = read(R"({"packet_type":"RESULT","cookie":"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7",)"
                R"("capacity":null,"pipeline":null,"variables":null,"detach":null,)"
                R"("rc":"PROCESSOR_EXCEPTION","error":"boom \"quoted\"",)"
                R"("stacktrace":["Traceback:","  File \"x.py\", line 1\n"],)"
                R"("result":"{\"y\": [1, 2]}"})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::result);
  EXPECT_EQ(r.fields.cookie, the_cookie());
}

TEST(PacketReader, ReadsEveryPacketType) {
  const std::pair<std::string_view, packet_type> types[] = {
      {"REGISTER", packet_type::register_worker},
      {"SHUTDOWN", packet_type::shutdown},
      {"RUN", packet_type::run},
      {"CANCEL", packet_type::cancel},
      {"RESULT", packet_type::result},
      {"PROGRESS", packet_type::progress}};
  for (auto [name, type] : types) {
    auto r = read(R"({"packet_type":")" + std::string{name} + R"("})");
    ASSERT_TRUE(r.ok()) << name << ": " << r.error;
    EXPECT_EQ(r.fields.type, type) << name;
  }
}

TEST(PacketReader, AcceptsEveryResultCode) {
  for (auto rc : {"OK", "BAD_PACKET", "UNSUPPORTED_PACKET_TYPE", "NO_CAPACITY", "COOKIE_NOT_FOUND",
                  "COOKIE_COLLISION", "WORKER_WENT_AWAY", "BROKER_WENT_AWAY", "PROCESSOR_EXCEPTION",
                  "EXCEPTION"}) {
    auto r = read(R"({"packet_type":"RESULT","rc":")" + std::string{rc} + R"(","error":"e"})");
    EXPECT_TRUE(r.ok()) << rc << ": " << r.error;
  }
}

TEST(PacketReader, ReadsCancelShutdownAndDetach) {
  auto cancel = read(R"({"packet_type":"CANCEL",)" + cookie_field() + "}");
  ASSERT_TRUE(cancel.ok()) << cancel.error;
  EXPECT_EQ(cancel.fields.type, packet_type::cancel);
  EXPECT_EQ(cancel.fields.cookie, the_cookie());

  auto detached = read(R"({"packet_type":"RUN","pipeline":"p","detach":true})");
  ASSERT_TRUE(detached.ok()) << detached.error;
  EXPECT_TRUE(detached.fields.detach);

  auto shutdown = read(R"({"packet_type":"SHUTDOWN"})");
  ASSERT_TRUE(shutdown.ok());
  EXPECT_EQ(shutdown.fields.type, packet_type::shutdown);
  EXPECT_EQ(shutdown.fields.cookie, std::nullopt);
}

TEST(PacketReader, ReadsTheTokenExtension) {
  auto r = read(R"({"packet_type":"REGISTER","capacity":2,"token":"s3cr\u00e9t"})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.token, "s3cr\xC3\xA9t");
  EXPECT_EQ(read(R"({"token":null})").fields.token, std::nullopt);
}

TEST(PacketReader, ReadsTheRoutingExtensions) {
  auto run =
      read(R"({"packet_type":"RUN","pipeline":"p","priority":7,"progress":true,"retries":2})");
  ASSERT_TRUE(run.ok()) << run.error;
  EXPECT_EQ(run.fields.priority, 7);
  EXPECT_EQ(run.fields.retries, 2);
  EXPECT_TRUE(run.fields.progress);
  auto reg = read(R"({"packet_type":"REGISTER","capacity":1,"pipelines":["a","b\u00e9"]})");
  ASSERT_TRUE(reg.ok()) << reg.error;
  ASSERT_TRUE(reg.fields.pipelines);
  EXPECT_EQ(*reg.fields.pipelines, (std::vector<std::string>{"a", "b\xC3\xA9"}));
  auto nulls = read(R"({"priority":null,"progress":null,"pipelines":null})");
  ASSERT_TRUE(nulls.ok()) << nulls.error;
  EXPECT_EQ(nulls.fields.priority, std::nullopt);
  EXPECT_FALSE(nulls.fields.progress);
  EXPECT_EQ(nulls.fields.pipelines, std::nullopt);
  EXPECT_EQ(read(R"({"packet_type":"RUN"})").fields.priority, std::nullopt);
}

TEST(PacketReader, PacketTypeIsOptional) {
  auto r = read("{" + cookie_field() + R"(,"pipeline":"p"})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, std::nullopt);
  EXPECT_EQ(r.fields.cookie, the_cookie());
  EXPECT_EQ(r.fields.pipeline, "p");

  auto empty = read("{}");
  ASSERT_TRUE(empty.ok()) << empty.error;
  EXPECT_EQ(empty.fields.type, std::nullopt);
  EXPECT_EQ(empty.fields.cookie, std::nullopt);
}

TEST(PacketReader, NullMeansAbsent) {
  auto r = read(R"({"packet_type":null,"cookie":null,"capacity":null,"pipeline":null,)"
                R"("variables":null,"detach":null,"rc":null,"error":null,"stacktrace":null,)"
                R"("result":null,"token":null})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, std::nullopt);
  EXPECT_EQ(r.fields.cookie, std::nullopt);
  EXPECT_EQ(r.fields.capacity, std::nullopt);
  EXPECT_EQ(r.fields.pipeline, std::nullopt);
  EXPECT_FALSE(r.fields.detach);
  EXPECT_EQ(r.fields.token, std::nullopt);
}

TEST(PacketReader, AcceptsWhitespaceAnywhere) {
  auto r =
      read(" \n\t{ \"packet_type\" :\r\n \"RUN\" , \"cookie\"\t:\"" + std::string{cookie_text} +
           "\" ,\n \"pipeline\": \"echo\" ,\"detach\" : true , \"capacity\" : 3 } \n\r\t ");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::run);
  EXPECT_EQ(r.fields.cookie, the_cookie());
  EXPECT_EQ(r.fields.pipeline, "echo");
  EXPECT_TRUE(r.fields.detach);
  EXPECT_EQ(r.fields.capacity, 3);
}

TEST(PacketReader, ReturnsAnyIntegerCapacityForTheCallerToCheck) {
  EXPECT_EQ(read(R"({"capacity":1})").fields.capacity, 1);
  EXPECT_EQ(read(R"({"capacity":0})").fields.capacity, 0);
  EXPECT_EQ(read(R"({"capacity":-7})").fields.capacity, -7);
  EXPECT_EQ(read(R"({"capacity":-0})").fields.capacity, 0);
  EXPECT_EQ(read(R"({"capacity":9223372036854775807})").fields.capacity, INT64_MAX);
  EXPECT_EQ(read(R"({"capacity":-9223372036854775808})").fields.capacity, INT64_MIN);
  EXPECT_TRUE(read(R"({"capacity":-9223372036854775808})").ok());
}

TEST(PacketReader, UnescapesStrings) {
  auto r = read(R"({"pipeline":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00 \u0000end"})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.pipeline, std::string("a\"b\\c/d\n\t\xC3\xA9\xF0\x9F\x98\x80 \0end", 20));
  auto empty = read(R"({"pipeline":""})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.fields.pipeline, ""); // present but empty: the caller rejects it
}

TEST(PacketReader, AcceptsUpperCaseCookie) {
  auto r = read(R"({"packet_type":"CANCEL","cookie":"0123ABCD-4567-89EF-A0B1-C2D3E4F5A6B7"})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.cookie, the_cookie());
  EXPECT_EQ(r.fields.cookie->to_string(), cookie_text);
}

TEST(PacketReader, RecognisesEscapedFieldNames) {
  auto r =
      read(R"({"packet\u005ftype":"RUN","c\u006fokie":")" + std::string{cookie_text} + R"("})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::run);
  EXPECT_EQ(r.fields.cookie, the_cookie());
}

TEST(PacketReader, FieldNamesAreCaseSensitive) {
  auto r = read(R"({"Packet_Type":"FOO","COOKIE":"x","Capacity":"y"})");
  ASSERT_TRUE(r.ok()) << r.error; // unknown fields, skipped
  EXPECT_EQ(r.fields.type, std::nullopt);
  EXPECT_EQ(r.fields.cookie, std::nullopt);
  EXPECT_EQ(r.fields.capacity, std::nullopt);
}

TEST(PacketReader, SkipsUnknownFieldsOfEveryType) {
  auto r = read(R"({"x-first":{"a":[1,2,{"b":null,"c":[[],{}]}],"d":"}]\"["},)"
                R"("packet_type":"RUN","n":-1.5e+10,"t":true,"f":false,"z":null,"s":"s",)"
                R"("arr":[[[["deep"]]],{"k":{"k":{"k":1}}}],"empty":{},"ea":[],)"
                R"("big":123456789012345678901234567890,"huge":1e400,"u":"\ud800",)"
                R"("k\u00e9y":1,"":0,)" +
                cookie_field() + R"(,"x-last":{"nested":[true,false,null]}})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::run);
  EXPECT_EQ(r.fields.cookie, the_cookie());
}

TEST(PacketReader, ToleratesUnpairedSurrogatesInOpaqueText) {
  // Python's json writes them (e.g. for surrogate-escaped file names in a traceback).
  auto r = read(R"({"packet_type":"RESULT",)" + cookie_field() +
                R"(,"rc":"EXCEPTION","error":"bad \udcff name","stacktrace":["\ud800"],)"
                R"("result":"\udc00","variables":"\ud83d"})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.cookie, the_cookie());
}

TEST(PacketReader, LastDuplicateFieldWins) {
  // Python's json.loads, which the original peers use, keeps the last.
  auto r = read(R"({"pipeline":"a","capacity":1,"pipeline":"b","capacity":2})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.pipeline, "b");
  EXPECT_EQ(r.fields.capacity, 2);
}

TEST(PacketReader, ReadsALargeFrameAndThenASmallOne) {
  std::string variables(3u << 20, 'v');
  auto big = read(R"({"packet_type":"RUN",)" + cookie_field() + R"(,"pipeline":"p","variables":")" +
                  variables + R"("})");
  ASSERT_TRUE(big.ok()) << big.error;
  EXPECT_EQ(big.fields.cookie, the_cookie());
  auto small = read(R"({"packet_type":"CANCEL",)" + cookie_field() + "}");
  ASSERT_TRUE(small.ok()) << small.error;
  EXPECT_EQ(small.fields.type, packet_type::cancel);
}

TEST(PacketReader, ReadsFramesFromAdoptedBuffers) {
  std::string payload = R"({"packet_type":"RUN","pipeline":"echo"})";
  auto f = frame::adopt(std::move(payload));
  auto r = read_packet(f);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.pipeline, "echo");
}

// -- bad packets --------------------------------------------------------------------------------

TEST(PacketReader, EmptyFrame) {
  auto r = read("");
  expect_bad(r, "empty frame");
  EXPECT_EQ(r.fields.cookie, std::nullopt);
  expect_bad(read_packet(frame{}), "empty frame");
}

struct wrong_type_case {
  std::string_view field;
  std::string_view value;
  std::string_view reason;
};

const wrong_type_case wrong_types[] = {
    {"packet_type", "1", "field 'packet_type' must be a string"},
    {"packet_type", "[\"RUN\"]", "field 'packet_type' must be a string"},
    {"packet_type", "\"FOO\"", "unknown packet_type 'FOO'"},
    {"packet_type", "\"run\"", "unknown packet_type 'run'"},
    {"packet_type", "\"RUN \"", "unknown packet_type 'RUN '"},
    {"packet_type", "\"\"", "unknown packet_type ''"},
    {"capacity", "2.5", "field 'capacity' must be an integer"},
    {"capacity", "1.0", "field 'capacity' must be an integer"},
    {"capacity", "1e3", "field 'capacity' must be an integer"},
    {"capacity", "9223372036854775808", "field 'capacity' must be an integer"},
    {"capacity", "-9223372036854775809", "field 'capacity' must be an integer"},
    {"capacity", "18446744073709551616", "field 'capacity' must be an integer"},
    {"capacity", "\"4\"", "field 'capacity' must be an integer"},
    {"capacity", "true", "field 'capacity' must be an integer"},
    {"capacity", "{\"n\":4}", "field 'capacity' must be an integer"},
    {"pipeline", "42", "field 'pipeline' must be a string"},
    {"pipeline", "[\"a\",{\"b\":[]}]", "field 'pipeline' must be a string"},
    {"pipeline", "\"\\ud800\"", "field 'pipeline' is not a valid string"},
    {"variables", "{\"x\":1}", "field 'variables' must be a string"},
    {"detach", "0", "field 'detach' must be a boolean"},
    {"detach", "\"true\"", "field 'detach' must be a boolean"},
    {"detach", "[]", "field 'detach' must be a boolean"},
    {"rc", "0", "field 'rc' must be a string"},
    {"rc", "\"ok\"", "unknown rc 'ok'"},
    {"rc", "\"TIMEOUT\"", "unknown rc 'TIMEOUT'"},
    {"error", "{}", "field 'error' must be a string"},
    {"error", "false", "field 'error' must be a string"},
    {"stacktrace", "\"line\"", "field 'stacktrace' must be an array of strings"},
    {"stacktrace", "[\"a\",1]", "field 'stacktrace' must be an array of strings"},
    {"stacktrace", "[null]", "field 'stacktrace' must be an array of strings"},
    {"stacktrace", "[[\"a\"]]", "field 'stacktrace' must be an array of strings"},
    {"stacktrace", "{\"0\":\"a\"}", "field 'stacktrace' must be an array of strings"},
    {"result", "[]", "field 'result' must be a string"},
    {"result", "3", "field 'result' must be a string"},
    {"token", "7", "field 'token' must be a string"},
    {"cookie", "\"not-a-uuid\"", "cookie is not a UUID"},
    {"cookie", "\"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b\"", "cookie is not a UUID"},
    {"cookie", "\"{0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7}\"", "cookie is not a UUID"},
    {"cookie", "\"\"", "cookie is not a UUID"},
    {"cookie", "12", "field 'cookie' must be a string"},
    {"priority", "1.5", "field 'priority' must be an integer"},
    {"priority", "\"1\"", "field 'priority' must be an integer"},
    {"progress", "1", "field 'progress' must be a boolean"},
    {"retries", "true", "field 'retries' must be an integer"},
    {"pipelines", "\"a\"", "field 'pipelines' must be an array of strings"},
    {"pipelines", "[1]", "field 'pipelines' must be an array of strings"},
    {"cookie", "[\"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7\"]", "field 'cookie' must be a string"},
};

TEST(PacketReader, WrongTypeIsABadPacketNamingTheField) {
  for (const auto& c : wrong_types) {
    auto json =
        R"({"packet_type":"RESULT",")" + std::string{c.field} + "\":" + std::string{c.value} + "}";
    if (c.field == "packet_type")
      json = R"({"packet_type":)" + std::string{c.value} + "}";
    SCOPED_TRACE(json);
    expect_bad(read(json), c.reason);
  }
}

TEST(PacketReader, CookieIsRecoveredWhateverFieldIsWrong) {
  for (const auto& c : wrong_types) {
    if (c.field == "cookie")
      continue;
    auto bad = "\"" + std::string{c.field} + "\":" + std::string{c.value};
    // The cookie after the wrong field, and before it.
    for (auto json : {"{" + bad + "," + cookie_field() + R"(,"pipeline":"p"})",
                      "{" + cookie_field() + "," + bad + R"(,"pipeline":"p"})"}) {
      SCOPED_TRACE(json);
      auto r = read(json);
      expect_bad(r, c.reason);
      EXPECT_EQ(r.fields.cookie, the_cookie());
    }
  }
}

TEST(PacketReader, FirstTypeErrorIsReported) {
  auto r = read(R"({"capacity":"x","detach":1,)" + cookie_field() + R"(,"rc":"NOPE"})");
  expect_bad(r, "field 'capacity' must be an integer");
  EXPECT_EQ(r.fields.cookie, the_cookie());
}

TEST(PacketReader, LongValuesAreCutInErrors) {
  std::string name(500, 'X');
  auto r = read(R"({"packet_type":")" + name + "\"}");
  expect_bad(r, "unknown packet_type 'XXXX");
  EXPECT_LT(r.error.size(), 80u);
  EXPECT_NE(r.error.find("...'"), std::string::npos) << r.error;

  // A cut never splits a UTF-8 sequence.
  std::string accents;
  for (int i = 0; i < 40; ++i)
    accents += "\xC3\xA9";
  auto u = read(R"({"rc":")" + accents + "\"}");
  ASSERT_FALSE(u.ok());
  auto quoted = u.error.substr(u.error.find('\'') + 1);
  quoted = quoted.substr(0, quoted.find("..."));
  EXPECT_EQ(quoted.size() % 2, 0u) << u.error;
}

TEST(PacketReader, InvalidUtf8) {
  const std::string_view bad[] = {
      "\xFF",             // never valid
      "\xC3",             // truncated two-byte sequence
      "\xC0\xAF",         // overlong '/'
      "\xE0\x80\xAF",     // overlong three-byte
      "\xED\xA0\x80",     // UTF-16 surrogate encoded as UTF-8
      "\xF4\x90\x80\x80", // above U+10FFFF
      "\x80",             // lone continuation byte
  };
  for (auto bytes : bad) {
    for (auto field : {"pipeline", "unknown", "error"}) {
      auto json = "{" + cookie_field() + ",\"" + field + "\":\"a" + std::string{bytes} + "b\"}";
      SCOPED_TRACE(json);
      auto r = read(json);
      expect_bad(r, "invalid UTF-8");
      // The frame is not read at all, so no cookie: the caller closes the connection.
      EXPECT_EQ(r.fields.cookie, std::nullopt);
    }
  }
  expect_bad(read("{\"k\xFF\":1}"), "invalid UTF-8");
  expect_bad(read("{} \xFF"), "invalid UTF-8");
}

TEST(PacketReader, InvalidJson) {
  const std::string_view bad[] = {
      "{",
      "}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\" 1}",
      "{\"a\":1,}",
      "{,\"a\":1}",
      "{\"a\":1 \"b\":2}",
      "{\"a\":1,,\"b\":2}",
      "{'a':1}",
      "{a:1}",
      "{1:1}",
      "{\"a\":[1,2}",
      "{\"a\":[1,2,]}",
      "{\"a\":[,1]}",
      "{\"a\":[1 2]}",
      "{\"a\":{\"b\"}}",
      "{\"a\":{\"b\":1]}",
      "{\"a\":tru}",
      "{\"a\":True}",
      "{\"a\":nul}",
      "{\"a\":nulll}",
      "{\"a\":falsey}",
      "{\"a\":NaN}",
      "{\"a\":Infinity}",
      "{\"a\":01}",
      "{\"a\":1.}",
      "{\"a\":.5}",
      "{\"a\":-}",
      "{\"a\":+1}",
      "{\"a\":1e}",
      "{\"a\":0x10}",
      "{\"a\":\"\\q\"}",
      "{\"a\":\"\\u12g4\"}",
      "{\"a\":\"\\u12\"}",
      "{\"a\":\"tab\there\"}",
      "{\"a\":\"nl\nhere\"}",
      "{\"a\":\"unterminated}",
      "{\"a\":\"x\"y}",
      "{\"k\\q\":1}",
      "{\"a\":1 /* comment */}",
      "{\"a\":{\"b\":{\"c\":[\"d\\x\"]}}}",
      "{\"capacity\":01}",
      "{\"capacity\":1.}",
      "{\"detach\":tru}",
      "{\"detach\":nul}",
      "{\"cookie\":nulx}",
      "{\"pipeline\":\"\\z\"}",
      "{\"error\":\"\\z\"}",
      "{\"stacktrace\":[\"a\" \"b\"]}",
      "{\"stacktrace\":[\"\\z\"]}",
      "   ",
  };
  for (auto json : bad) {
    SCOPED_TRACE(json);
    auto r = read(json);
    expect_bad(r, "invalid JSON");
    EXPECT_EQ(r.fields.cookie, std::nullopt);
  }
}

TEST(PacketReader, CookieReadBeforeBrokenJsonIsKept) {
  auto r = read("{" + cookie_field() + R"(,"packet_type":"RUN","x":[1,2,}})");
  expect_bad(r, "invalid JSON");
  EXPECT_EQ(r.fields.cookie, the_cookie());

  auto bad_atom = read("{" + cookie_field() + R"(,"x":tru})");
  expect_bad(bad_atom, "invalid JSON");
  EXPECT_EQ(bad_atom.fields.cookie, the_cookie());
}

TEST(PacketReader, BrokenJsonOutranksAnEarlierTypeError) {
  auto r = read(R"({"capacity":"x",)" + cookie_field() + R"(,"y":01})");
  expect_bad(r, "invalid JSON");
  EXPECT_EQ(r.fields.cookie, the_cookie());
}

TEST(PacketReader, NotAnObject) {
  for (std::string_view json :
       {"[]", "[{\"packet_type\":\"RUN\"}]", "42", "-1.5", "\"RUN\"", "true", "null", "  [1] "}) {
    SCOPED_TRACE(json);
    auto r = read(json);
    expect_bad(r, "not a JSON object");
    EXPECT_EQ(r.fields.cookie, std::nullopt);
  }
}

TEST(PacketReader, TrailingGarbage) {
  const std::string good = R"({"packet_type":"RUN",)" + cookie_field() + "}";
  for (std::string_view tail : {"x", " 1", "{}", "[]", "}", "]", ",", "\"s\"", " null", ", {}"}) {
    SCOPED_TRACE(tail);
    auto r = read(good + std::string{tail});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error, "invalid JSON");
  }
  EXPECT_TRUE(read(good + " \n\r\t ").ok());
}

// Found by fuzz/packet_reader_fuzzer: a string value followed by ':' was stepped over as if it were
// a key, so these passed as JSON, and a RUN like the last would have gone to a worker as it came.
TEST(PacketReader, AStringValueFollowedByAColonIsInvalidJson) {
  const std::string bad[] = {
      R"({"x":"y":1}})",
      R"({"x":"y":1,"z":2}})",
      R"({"x":{"a":"b":1}}})",
      R"({"variables":"v":1}})",
      R"({"error":"e":1}})",
      R"({"packet_type":"RUN",)" + cookie_field() + R"(,"pipeline":"p","variables":"v":1}})",
  };
  for (auto& json : bad) {
    SCOPED_TRACE(json);
    expect_bad(read(json), "invalid JSON");
  }
}

TEST(PacketReader, DeepNestingIsRefusedWithoutCrashing) {
  auto nested = [](std::size_t depth, char open, char close) {
    return std::string(depth, open) + std::string(depth, close);
  };
  auto shallow = read("{" + cookie_field() + R"(,"x":)" + nested(100, '[', ']') + "}");
  EXPECT_TRUE(shallow.ok()) << shallow.error;

  auto deep = read("{" + cookie_field() + R"(,"x":)" + nested(100000, '[', ']') + "}");
  expect_bad(deep, "nested too deeply");
  EXPECT_EQ(deep.fields.cookie, the_cookie());
  std::string objects;
  for (int i = 0; i < 5000; ++i)
    objects += "{\"a\":";
  objects += "1" + std::string(5000, '}');
  auto deep_objects = read("{\"x\":" + objects + "}");
  expect_bad(deep_objects, "nested too deeply");
}

TEST(PacketReader, NeverCrashesOnTruncationsOrByteFlips) {
  const std::string good =
      R"({"packet_type":"RESULT","cookie":"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7",)"
      R"("capacity":null,"pipeline":"p","variables":"{\"x\": [1, 2.5e-3]}","detach":false,)"
      R"("rc":"OK","error":"e\u00e9\n","stacktrace":["a","b"],"result":"r",)"
      R"("extra":{"a":[true,false,null,{"b":-0.0}]}})";
  ASSERT_TRUE(read(good).ok());
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = read(good.substr(0, n));
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes read as a packet";
  }
  // Flipping a byte outside the cookie's value can never make a packet with another cookie.
  const auto cookie_at = good.find(cookie_text);
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (char c : {'\0', '"', '\\', '{', '}', '[', ']', ',', ':', 'x', '1', ' ', '\xFF'}) {
      auto mutated = good;
      mutated[i] = c;
      auto r = read(mutated);
      bool in_cookie = i >= cookie_at && i < cookie_at + cookie_text.size();
      if (r.fields.cookie && !in_cookie) {
        EXPECT_EQ(r.fields.cookie, the_cookie()) << mutated;
      }
    }
  }
}

TEST(PacketPeek, FindsTypeCookieAndDetachAtTheTopLevelOnly) {
  auto peek = peek_packet(frame{R"({"result":{"packet_type":"RUN","cookie":"x"},)" +
                                cookie_field() + R"(,"detach":true,"packet_type":"RESULT"})"});
  EXPECT_EQ(peek.type, packet_type::result);
  EXPECT_EQ(peek.cookie, the_cookie());
  EXPECT_TRUE(peek.detach);
  auto plain = peek_packet(frame{R"({"packet_type":"CANCEL",)" + cookie_field() + "}"});
  EXPECT_EQ(plain.type, packet_type::cancel);
  EXPECT_FALSE(plain.detach);
}

TEST(PacketPeek, WhatItCannotReadIsAbsent) {
  for (std::string_view json : {"", "not json", "[1,2]", R"({"cookie":7,"packet_type":1})",
                                R"({"cookie":"not-a-uuid"})", R"({"detach":"yes"})"}) {
    auto peek = peek_packet(frame{json});
    EXPECT_FALSE(peek.cookie) << json;
    EXPECT_FALSE(peek.type) << json;
    EXPECT_FALSE(peek.detach) << json;
  }
  // What follows the fields it needs is not checked: the connection's reader does that. A
  // document cut short is not read at all.
  auto wrong_later = peek_packet(frame{"{" + cookie_field() + R"(,"pipeline":5,"rc":"NOPE"})"});
  EXPECT_EQ(wrong_later.cookie, the_cookie());
  EXPECT_FALSE(peek_packet(frame{"{" + cookie_field() + R"(,"pipeline":)"}).cookie);
}

} // namespace
} // namespace rcbroker::protocol

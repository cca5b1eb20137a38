#include "rcbroker/protocol/json_string.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <gtest/gtest.h>
#include <random>
#include <simdjson.h>
#include <string>

namespace rcbroker::protocol {
namespace {

constexpr std::string_view cookie_text = "0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7";
constexpr std::string_view replacement = "\xEF\xBF\xBD";

cookie the_cookie() {
  return *cookie::parse(cookie_text);
}

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

// Parses `literal` as a whole JSON document holding one string; nullopt unless it is valid.
std::optional<std::string> parse_json_string(std::string_view literal) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(literal);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc))
    return std::nullopt;
  std::string_view value;
  if (doc.get_string().get(value))
    return std::nullopt;
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) // something after the string
    return std::nullopt;
  return std::string{value};
}

// The `error` text of a packet, read back with simdjson.
std::optional<std::string> error_of(const frame& f) {
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(f.payload().data(), f.payload().size(), f.padded_size()).get(doc))
    return std::nullopt;
  std::string_view value;
  if (doc["error"].get_string().get(value))
    return std::nullopt;
  return std::string{value};
}

TEST(PacketWriter, AppendsAnIntegerFieldBeforeTheClosingBrace) {
  auto f = append_integer_field(frame{R"({"packet_type":"RESULT","rc":"OK"} )"}, "attempts", 2);
  EXPECT_EQ(f.payload(), R"({"packet_type":"RESULT","rc":"OK","attempts":2} )");
  auto read = read_packet(f);
  EXPECT_TRUE(read.ok()) << read.error;
  EXPECT_EQ(append_integer_field(frame{"{ }"}, "n", -1).payload(), R"({ "n":-1})");
}

TEST(PacketWriter, MakesAResultWithACookie) {
  auto f = make_broker_result(the_cookie(), result_code::no_capacity, "No capacity available");
  EXPECT_EQ(f.payload(),
            R"({"packet_type":"RESULT","cookie":"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7",)"
            R"("rc":"NO_CAPACITY","error":"No capacity available"})");
  EXPECT_GE(f.padded_size(), f.payload().size() + frame_padding);
}

TEST(PacketWriter, EmitsTheCookieInLowerCase) {
  auto c = cookie::parse("0123ABCD-4567-89EF-A0B1-C2D3E4F5A6B7");
  ASSERT_TRUE(c);
  auto f = make_broker_result(c, result_code::cookie_collision, "Already in use");
  EXPECT_EQ(f.payload(),
            R"({"packet_type":"RESULT","cookie":"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7",)"
            R"("rc":"COOKIE_COLLISION","error":"Already in use"})");
}

TEST(PacketWriter, MakesAResultWithANullCookie) {
  auto f = make_broker_result(std::nullopt, result_code::bad_packet, "Missing cookie");
  EXPECT_EQ(f.payload(),
            R"({"packet_type":"RESULT","cookie":null,"rc":"BAD_PACKET","error":"Missing cookie"})");
}

TEST(PacketWriter, SpellsEveryResultCode) {
  const std::pair<result_code, std::string_view> codes[] = {
      {result_code::ok, "OK"},
      {result_code::bad_packet, "BAD_PACKET"},
      {result_code::unsupported_packet_type, "UNSUPPORTED_PACKET_TYPE"},
      {result_code::no_capacity, "NO_CAPACITY"},
      {result_code::cookie_not_found, "COOKIE_NOT_FOUND"},
      {result_code::cookie_collision, "COOKIE_COLLISION"},
      {result_code::worker_went_away, "WORKER_WENT_AWAY"},
      {result_code::broker_went_away, "BROKER_WENT_AWAY"},
      {result_code::processor_exception, "PROCESSOR_EXCEPTION"},
      {result_code::exception, "EXCEPTION"},
  };
  for (auto [code, name] : codes) {
    EXPECT_EQ(to_string(code), name);
    EXPECT_EQ(parse_result_code(name), code);
    auto f = make_broker_result(std::nullopt, code, "e");
    EXPECT_EQ(f.payload(), R"({"packet_type":"RESULT","cookie":null,"rc":")" + std::string{name} +
                               R"(","error":"e"})");
  }
}

TEST(PacketWriter, ResultsReadBackAsWellFormedPackets) {
  auto f = make_broker_result(the_cookie(), result_code::worker_went_away,
                              "The worker connection went away");
  auto r = read_packet(f);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::result);
  EXPECT_EQ(r.fields.cookie, the_cookie());
  EXPECT_EQ(error_of(f), "The worker connection went away");
}

TEST(PacketWriter, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(json_string(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(json_string(R"(C:\dir\)"), R"("C:\\dir\\")");
  EXPECT_EQ(json_string(R"(\")"), R"("\\\"")");
  EXPECT_EQ(json_string(""), R"("")");
  EXPECT_EQ(json_string("/ stays"), R"("/ stays")");
}

TEST(PacketWriter, EscapesControlCharacters) {
  EXPECT_EQ(json_string("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(json_string(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(json_string("\x01\x1F"), R"("\u0001\u001f")");
  auto backspace = json_string("\b\f");
  EXPECT_TRUE(backspace == R"("\b\f")" || backspace == R"("\u0008\u000c")") << backspace;
  EXPECT_EQ(json_string("\x7F"), "\"\x7F\""); // DEL needs no escape in JSON
}

TEST(PacketWriter, KeepsValidUtf8) {
  for (std::string_view text :
       {"caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF",
        "\xC2\x80", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80", "\xF0\x90\x80\x80"}) {
    EXPECT_EQ(json_string(text), "\"" + std::string{text} + "\"");
  }
}

TEST(PacketWriter, ReplacesInvalidUtf8) {
  EXPECT_EQ(json_string("a\xFF"
                        "b"),
            "\"a" + std::string{replacement} + "b\"");
  EXPECT_EQ(json_string("\x80"), "\"" + std::string{replacement} + "\"");
  EXPECT_EQ(json_string("\xC3"), "\"" + std::string{replacement} + "\"");
  EXPECT_EQ(json_string("\xC3("), "\"" + std::string{replacement} + "(\"");
  EXPECT_EQ(json_string("\xC0\xAF").find('/'), std::string::npos); // no overlong '/'
  for (std::string_view bad :
       {"\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xED\xBF\xBF", "\xF0\x80\x80\xAF",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF8\x88\x80\x80\x80", "\xFE\xFF", "\xF0\x9F\x98",
        "\xE2\x82"}) {
    auto literal = json_string(bad);
    EXPECT_NE(literal.find(replacement), std::string::npos) << literal;
    auto back = parse_json_string(literal);
    ASSERT_TRUE(back) << "not valid JSON: " << literal;
    // Nothing of the bad input survives: only replacement characters.
    std::string only_replacements = *back;
    for (auto at = only_replacements.find(replacement); at != std::string::npos;
         at = only_replacements.find(replacement))
      only_replacements.erase(at, replacement.size());
    EXPECT_TRUE(only_replacements.empty()) << literal;
  }
}

TEST(PacketWriter, ErrorTextRoundTripsThroughSimdjson) {
  std::string text = "quote\" backslash\\ slash/ caf\xC3\xA9 \xF0\x9F\x98\x80 ";
  for (int c = 0; c < 0x20; ++c)
    text += static_cast<char>(c);
  text += "\x7F end";
  auto f = make_broker_result(the_cookie(), result_code::exception, text);
  EXPECT_EQ(error_of(f), text);
  auto r = read_packet(f);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.cookie, the_cookie());
}

TEST(PacketWriter, EveryByteValueGivesValidJson) {
  for (int b = 0; b < 256; ++b) {
    std::string text = "x";
    text += static_cast<char>(b);
    text += "y";
    auto literal = json_string(text);
    auto back = parse_json_string(literal);
    ASSERT_TRUE(back) << "byte " << b << ": " << literal;
    if (b < 0x80) {
      EXPECT_EQ(*back, text) << "byte " << b;
    } else {
      EXPECT_EQ(*back, "x" + std::string{replacement} + "y") << "byte " << b;
    }
  }
}

TEST(PacketWriter, RandomBytesAlwaysGiveAValidPacket) {
  std::mt19937 rng(2024);
  for (int round = 0; round < 2000; ++round) {
    std::string text(rng() % 40, '\0');
    for (auto& c : text)
      c = static_cast<char>(rng() & 0xFF);
    auto f = make_broker_result(std::nullopt, result_code::bad_packet, text);
    auto r = read_packet(f);
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_TRUE(error_of(f).has_value());
  }
}

TEST(PacketWriter, AppendsToExistingText) {
  std::string out = "prefix:";
  append_json_string(out, "v");
  EXPECT_EQ(out, "prefix:\"v\"");
}

TEST(PacketWriter, MakesShutdown) {
  auto f = make_shutdown();
  EXPECT_EQ(f.payload(), R"({"packet_type":"SHUTDOWN"})");
  EXPECT_GE(f.padded_size(), f.payload().size() + frame_padding);
  auto r = read_packet(f);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::shutdown);
  EXPECT_EQ(r.fields.cookie, std::nullopt);
}

TEST(PacketWriter, MakesCancel) {
  auto f = make_cancel(*cookie::parse("0123ABCD-4567-89EF-A0B1-C2D3E4F5A6B7"));
  // The broker's CANCEL of an orphaned task is a client's CANCEL: the original form.
  EXPECT_EQ(f.payload(),
            R"({"packet_type":"CANCEL","cookie":"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7",)"
            R"("capacity":null,"pipeline":null,"variables":null,"detach":null,)"
            R"("rc":null,"error":null,"stacktrace":null,"result":null})");
  EXPECT_GE(f.padded_size(), f.payload().size() + frame_padding);
  auto r = read_packet(f);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::cancel);
  EXPECT_EQ(r.fields.cookie, the_cookie());
}

TEST(PacketWriter, PacketTypeNamesRoundTrip) {
  for (auto type : {packet_type::register_worker, packet_type::shutdown, packet_type::run,
                    packet_type::cancel, packet_type::result}) {
    EXPECT_EQ(parse_packet_type(to_string(type)), type);
  }
  EXPECT_EQ(to_string(packet_type::register_worker), "REGISTER");
  EXPECT_EQ(parse_packet_type("register"), std::nullopt);
  EXPECT_EQ(parse_result_code("no_capacity"), std::nullopt);
}

} // namespace
} // namespace rcbroker::protocol

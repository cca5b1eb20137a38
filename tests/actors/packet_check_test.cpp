// The connection's stateless rules (actors::check_packet), packet by packet, without sockets.

#include "rcbroker/actors/packet_check.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <gtest/gtest.h>

using namespace rcbroker::actors;
using rcbroker::protocol::frame;
using rcbroker::protocol::make_register;
using rcbroker::protocol::packet_type;
using rcbroker::protocol::result_code;
using action = packet_verdict::action;

namespace {

constexpr const char* cookie_text = "0f8fad5b-d9cb-469f-a165-70867728950e";
const auto the_cookie = *rcbroker::protocol::cookie::parse(cookie_text);

packet_verdict check(peer_role role, std::string_view payload, std::string_view token = {}) {
  return check_packet(role, rcbroker::protocol::read_packet(frame{payload}), token);
}

std::string run(std::string_view extra) {
  return std::string{R"({"packet_type":"RUN","cookie":")"} + cookie_text + R"(","pipeline":"p")" +
         std::string{extra} + "}";
}

} // namespace

TEST(PacketCheck, ARunIsRoutedWithItsDetachAndTimeout) {
  auto v = check(peer_role::client, run(R"(,"detach":true,"timeout":1.5)"));
  ASSERT_EQ(v.what, action::route);
  EXPECT_EQ(v.routed.type, packet_type::run);
  EXPECT_EQ(v.routed.id, the_cookie);
  EXPECT_TRUE(v.routed.detach);
  EXPECT_EQ(v.routed.timeout_ms, 1500u);
  EXPECT_FALSE(v.misbehaved);
}

TEST(PacketCheck, ATimeoutRoundsUpToAMillisecond) {
  EXPECT_EQ(check(peer_role::client, run(R"(,"timeout":0.0001)")).routed.timeout_ms, 1u);
}

TEST(PacketCheck, ARunNeedsAPipelineAndASaneTimeout) {
  for (auto [extra, error] : std::vector<std::pair<std::string, std::string>>{
           {R"(,"pipeline":"")", "Missing pipeline"},
           {R"(,"pipeline":null)", "Missing pipeline"},
           {R"(,"timeout":0)", "Bad timeout: a number of seconds > 0 and at most 4294967"},
           {R"(,"timeout":-1)", "Bad timeout: a number of seconds > 0 and at most 4294967"},
           {R"(,"timeout":5e6)", "Bad timeout: a number of seconds > 0 and at most 4294967"}}) {
    auto v = check(peer_role::client, run(extra));
    ASSERT_EQ(v.what, action::answer) << extra;
    EXPECT_EQ(v.rc, result_code::bad_packet) << extra;
    EXPECT_EQ(v.cookie, the_cookie) << extra;
    EXPECT_EQ(v.error, error) << extra;
    EXPECT_FALSE(v.misbehaved) << extra;
  }
}

TEST(PacketCheck, ARunOrCancelWithoutACookieIsAnsweredWithout) {
  for (auto payload :
       {R"({"packet_type":"RUN","cookie":null,"pipeline":"p"})", R"({"packet_type":"CANCEL"})"}) {
    auto v = check(peer_role::client, payload);
    ASSERT_EQ(v.what, action::answer) << payload;
    EXPECT_EQ(v.cookie, std::nullopt);
    EXPECT_EQ(v.error, "Missing cookie");
  }
}

TEST(PacketCheck, ACancelIsRouted) {
  auto v = check(peer_role::client,
                 std::string{R"({"packet_type":"CANCEL","cookie":")"} + cookie_text + "\"}");
  ASSERT_EQ(v.what, action::route);
  EXPECT_EQ(v.routed.type, packet_type::cancel);
  EXPECT_EQ(v.routed.id, the_cookie);
}

TEST(PacketCheck, EachSideRefusesTheOthersPackets) {
  auto from_client = check(peer_role::client, std::string{make_register(2).payload()});
  ASSERT_EQ(from_client.what, action::answer);
  EXPECT_EQ(from_client.rc, result_code::unsupported_packet_type);
  EXPECT_EQ(from_client.error, "Packet type not supported on this client");
  auto from_worker = check(peer_role::worker, run(""));
  ASSERT_EQ(from_worker.what, action::answer);
  EXPECT_EQ(from_worker.rc, result_code::unsupported_packet_type);
  EXPECT_EQ(from_worker.cookie, the_cookie);
  EXPECT_EQ(from_worker.error, "Packet type not supported on this worker");
}

TEST(PacketCheck, ABadPacketWithACookieIsAnsweredAndCounted) {
  auto v = check(peer_role::client, run(R"(,"detach":"yes")"));
  ASSERT_EQ(v.what, action::answer);
  EXPECT_EQ(v.rc, result_code::bad_packet);
  EXPECT_EQ(v.cookie, the_cookie);
  EXPECT_EQ(v.error, "field 'detach' must be a boolean");
  EXPECT_TRUE(v.misbehaved);
}

TEST(PacketCheck, ABadPacketWithoutACookieClosesAClient) {
  auto v = check(peer_role::client, "{not json");
  EXPECT_EQ(v.what, action::close);
  EXPECT_EQ(v.error, "bad packet without a cookie: invalid JSON");
  EXPECT_TRUE(v.misbehaved);
}

TEST(PacketCheck, RegisterEnrollsItsCapacity) {
  auto v = check(peer_role::worker, std::string{make_register(7).payload()});
  ASSERT_EQ(v.what, action::enroll);
  EXPECT_EQ(v.capacity, 7u);
}

TEST(PacketCheck, RegisterNeedsACapacityThatFits) {
  for (auto payload :
       {R"({"packet_type":"REGISTER","capacity":0})", R"({"packet_type":"REGISTER"})",
        R"({"packet_type":"REGISTER","capacity":4294967296})"}) {
    auto v = check(peer_role::worker, payload);
    ASSERT_EQ(v.what, action::answer) << payload;
    EXPECT_EQ(v.cookie, std::nullopt);
    EXPECT_EQ(v.error, "Missing or invalid capacity: REGISTER needs an integer capacity >= 1");
  }
}

TEST(PacketCheck, AWronglyTypedRegisterIsAnsweredNotClosed) {
  auto v = check(peer_role::worker, R"({"packet_type":"REGISTER","capacity":"3"})");
  ASSERT_EQ(v.what, action::answer);
  EXPECT_EQ(v.error, "field 'capacity' must be an integer");
  EXPECT_TRUE(v.misbehaved);
}

TEST(PacketCheck, RegisterMustCarryTheTokenWhenOneIsSet) {
  EXPECT_EQ(check(peer_role::worker, std::string{make_register(1).payload()}, "s3cret").what,
            action::answer);
  auto wrong = check(peer_role::worker, std::string{make_register(1, "s3cre").payload()}, "s3cret");
  ASSERT_EQ(wrong.what, action::answer);
  EXPECT_EQ(wrong.error, "Missing or wrong worker token");
  EXPECT_TRUE(wrong.misbehaved);
  EXPECT_EQ(
      check(peer_role::worker, std::string{make_register(1, "s3cret").payload()}, "s3cret").what,
      action::enroll);
}

TEST(PacketCheck, AResultIsRoutedWithItsRc) {
  auto v = check(peer_role::worker, std::string{R"({"packet_type":"RESULT","cookie":")"} +
                                        cookie_text + R"(","rc":"PROCESSOR_EXCEPTION"})");
  ASSERT_EQ(v.what, action::route);
  EXPECT_EQ(v.routed.type, packet_type::result);
  EXPECT_TRUE(v.routed.has_rc);
  EXPECT_EQ(v.routed.rc, result_code::processor_exception);
}

TEST(PacketCheck, AResultWithoutACookieIsDropped) {
  auto v = check(peer_role::worker, R"({"packet_type":"RESULT","rc":"OK"})");
  EXPECT_EQ(v.what, action::drop);
  EXPECT_EQ(v.error, "RESULT without a cookie");
}

TEST(PacketCheck, ARunCarriesItsPriorityProgressAndPipeline) {
  auto v = check(peer_role::client, run(R"(,"priority":-3,"progress":true)"));
  ASSERT_EQ(v.what, action::route);
  EXPECT_EQ(v.routed.priority, -3);
  EXPECT_TRUE(v.routed.progress);
  EXPECT_EQ(v.routed.pipeline, "p");
  auto plain = check(peer_role::client, run(""));
  EXPECT_EQ(plain.routed.priority, 0);
  EXPECT_FALSE(plain.routed.progress);
}

TEST(PacketCheck, ARunCarriesItsRetriesWithinBounds) {
  EXPECT_EQ(check(peer_role::client, run(R"(,"retries":3)")).routed.retries, 3);
  EXPECT_EQ(check(peer_role::client, run("")).routed.retries, -1) << "not asked";
  for (auto bad : {R"(,"retries":-1)", R"(,"retries":1001)"}) {
    auto v = check(peer_role::client, run(bad));
    ASSERT_EQ(v.what, action::answer) << bad;
    EXPECT_EQ(v.error, "Bad retries: an integer from 0 to 1000") << bad;
  }
}

TEST(PacketCheck, AWorkersProgressIsRoutedAndAClientsIsUnsupported) {
  auto payload = std::string{R"({"packet_type":"PROGRESS","cookie":")"} + cookie_text +
                 R"(","result":"\"tok\""})";
  auto v = check(peer_role::worker, payload);
  ASSERT_EQ(v.what, action::route);
  EXPECT_EQ(v.routed.type, packet_type::progress);
  EXPECT_EQ(v.routed.id, the_cookie);
  auto from_client = check(peer_role::client, payload);
  ASSERT_EQ(from_client.what, action::answer);
  EXPECT_EQ(from_client.rc, result_code::unsupported_packet_type);
  EXPECT_EQ(check(peer_role::worker, R"({"packet_type":"PROGRESS"})").what, action::drop);
}

TEST(PacketCheck, ARegisterCarriesItsPipelines) {
  auto v =
      check(peer_role::worker, R"({"packet_type":"REGISTER","capacity":2,"pipelines":["a","b"]})");
  ASSERT_EQ(v.what, action::enroll);
  ASSERT_TRUE(v.pipelines);
  EXPECT_EQ(*v.pipelines, (std::vector<std::string>{"a", "b"}));
  auto every =
      check(peer_role::worker, R"({"packet_type":"REGISTER","capacity":2,"pipelines":null})");
  ASSERT_EQ(every.what, action::enroll);
  EXPECT_FALSE(every.pipelines);
  for (auto bad : {R"([])", R"([""])"}) {
    auto b =
        check(peer_role::worker,
              std::string{R"({"packet_type":"REGISTER","capacity":2,"pipelines":)"} + bad + "}");
    ASSERT_EQ(b.what, action::answer) << bad;
    EXPECT_EQ(b.error, "Bad pipelines: a non-empty array of non-empty pipeline names");
  }
  auto wrong =
      check(peer_role::worker, R"({"packet_type":"REGISTER","capacity":2,"pipelines":"a"})");
  ASSERT_EQ(wrong.what, action::answer);
  EXPECT_EQ(wrong.error, "field 'pipelines' must be an array of strings");
}

TEST(PacketCheck, EveryRefusalNamesItsReasonAndAPassingPacketNone) {
  EXPECT_EQ(check(peer_role::client, run("")).refused, std::nullopt);
  EXPECT_EQ(check(peer_role::worker, std::string{make_register(1).payload()}).refused,
            std::nullopt);
  struct refusal_case {
    peer_role role;
    std::string payload;
    packet_refusal reason;
  };
  std::string with_cookie = std::string{R"("cookie":")"} + cookie_text + "\"";
  for (auto& c : std::vector<refusal_case>{
           {peer_role::client, "{not json", packet_refusal::invalid_json},
           {peer_role::client, "[1]", packet_refusal::invalid_json},
           {peer_role::client, R"({"packet_type":"NOPE",)" + with_cookie + "}",
            packet_refusal::unknown_packet_type},
           {peer_role::client, run(R"(,"detach":"yes")"), packet_refusal::bad_field},
           {peer_role::client, run(R"(,"timeout":0)"), packet_refusal::bad_field},
           {peer_role::client, run(R"(,"pipeline":"")"), packet_refusal::missing_field},
           {peer_role::client, R"({"packet_type":"CANCEL"})", packet_refusal::missing_field},
           {peer_role::client, std::string{make_register(2).payload()}, packet_refusal::wrong_role},
           {peer_role::worker, run(""), packet_refusal::wrong_role},
           {peer_role::worker, R"({"packet_type":"REGISTER"})", packet_refusal::missing_field},
           {peer_role::worker, R"({"packet_type":"REGISTER","capacity":0})",
            packet_refusal::bad_field},
           {peer_role::worker, R"({"packet_type":"RESULT","rc":"OK"})",
            packet_refusal::missing_field},
       }) {
    EXPECT_EQ(check(c.role, c.payload).refused, c.reason) << c.payload;
  }
  auto no_token = check(peer_role::worker, std::string{make_register(1).payload()}, "secret");
  EXPECT_EQ(no_token.refused, packet_refusal::wrong_token);
  EXPECT_EQ(to_string(packet_refusal::wrong_token), "wrong_token");
  EXPECT_EQ(to_string(packet_refusal::invalid_json), "invalid_json");
}

// The packets a peer writes (the client and worker libraries, rcbench): byte for byte the form
// of the original client and worker, and readable by the broker's own reader.

#include "raw_peer.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <gtest/gtest.h>

using namespace rcbroker::protocol;
using rcbroker::test_support::new_cookie;

namespace {

cookie parse_cookie(const std::string& text) {
  auto c = cookie::parse(text);
  EXPECT_TRUE(c);
  return c.value_or(cookie{});
}

} // namespace

TEST(PacketWriterPeer, RunIsWrittenAsTheOriginalClientWritesIt) {
  auto text = new_cookie();
  auto c = parse_cookie(text);
  EXPECT_EQ(make_run(c, "echo", R"({"x": 1})", false).payload(),
            rcbroker::test_support::original_run(text, "echo", R"({"x": 1})", false));
  EXPECT_EQ(make_run(c, "slow", "{}", true).payload(),
            rcbroker::test_support::original_run(text, "slow", "{}", true));
}

TEST(PacketWriterPeer, RunMatchesTheProtocolExample) {
  auto c = parse_cookie("0f8fad5b-d9cb-469f-a165-70867728950e");
  EXPECT_EQ(make_run(c, "echo", R"({"x": 1})", false).payload(),
            R"({"packet_type":"RUN","cookie":"0f8fad5b-d9cb-469f-a165-70867728950e",)"
            R"("capacity":null,"pipeline":"echo","variables":"{\"x\": 1}","detach":false,)"
            R"("rc":null,"error":null,"stacktrace":null,"result":null})");
}

TEST(PacketWriterPeer, CancelAndRegisterAreWrittenAsTheOriginal) {
  auto text = new_cookie();
  EXPECT_EQ(make_cancel(parse_cookie(text)).payload(),
            rcbroker::test_support::original_cancel(text));
  EXPECT_EQ(make_register(3).payload(), rcbroker::test_support::original_register(3));
}

TEST(PacketWriterPeer, TokenIsAnExtensionFieldAfterTheTable) {
  auto with_token = std::string{make_register(2, std::string{"s3cr\"t"}).payload()};
  auto original = rcbroker::test_support::original_register(2);
  original.pop_back(); // the closing brace
  EXPECT_EQ(with_token, original + R"(,"token":"s3cr\"t"})");
  auto read = read_packet(make_register(2, std::string{"abc"}));
  ASSERT_TRUE(read.ok()) << read.error;
  EXPECT_EQ(read.fields.token, "abc");
  EXPECT_EQ(read.fields.capacity, 2);
}

TEST(PacketWriterPeer, OkResultIsWrittenAsTheOriginalWorker) {
  auto text = new_cookie();
  EXPECT_EQ(
      make_result(parse_cookie(text), result_code::ok, std::string{R"({"y": "é"})"}).payload(),
      rcbroker::test_support::original_result(text, R"({"y": "é"})"));
}

TEST(PacketWriterPeer, FailedResultCarriesErrorAndStacktrace) {
  auto c = parse_cookie("0f8fad5b-d9cb-469f-a165-70867728950e");
  auto f =
      make_result(c, result_code::processor_exception, std::nullopt, std::string{"bad \"input\"\n"},
                  std::vector<std::string>{"line 1", "tab\there"});
  EXPECT_EQ(f.payload(),
            R"({"packet_type":"RESULT","cookie":"0f8fad5b-d9cb-469f-a165-70867728950e",)"
            R"("capacity":null,"pipeline":null,"variables":null,"detach":null,)"
            R"("rc":"PROCESSOR_EXCEPTION","error":"bad \"input\"\n",)"
            R"("stacktrace":["line 1","tab\there"],"result":null})");
  auto read = read_packet(f);
  EXPECT_TRUE(read.ok()) << read.error;
  EXPECT_EQ(read.fields.type, packet_type::result);
}

TEST(PacketWriterPeer, EveryBuiltPacketPassesTheBrokersReader) {
  auto c = parse_cookie(new_cookie());
  for (const auto& f :
       {make_run(c, "p\x01\xff", "not json \\ at all", true), make_cancel(c),
        make_register(7, std::string{"\xc3\x28"}),
        make_result(c, result_code::exception, std::nullopt, std::string{"Cancelled"}),
        make_result(c, result_code::ok, std::string{"[1,2]"}, std::nullopt,
                    std::vector<std::string>{})}) {
    auto read = read_packet(f);
    EXPECT_TRUE(read.ok()) << read.error << " in " << f.payload();
    EXPECT_GE(f.padded_size(), f.payload().size() + frame_padding);
  }
}

TEST(PacketWriterPeer, RunExtensionsFollowTheTableOnlyWhenSet) {
  auto text = new_cookie();
  auto c = parse_cookie(text);
  auto original = rcbroker::test_support::original_run(text, "echo", "{}", false);
  EXPECT_EQ(make_run(c, "echo", "{}", false, run_extensions{}).payload(), original);
  run_extensions all;
  all.timeout = std::chrono::milliseconds{1500};
  all.priority = -3;
  all.progress = true;
  all.retries = 2;
  original.pop_back(); // the closing brace
  EXPECT_EQ(make_run(c, "echo", "{}", false, all).payload(),
            original + R"(,"timeout":1.500,"priority":-3,"progress":true,"retries":2})");
  auto read = read_packet(make_run(c, "echo", "{}", false, all));
  ASSERT_TRUE(read.ok()) << read.error;
  EXPECT_DOUBLE_EQ(read.fields.timeout.value_or(0), 1.5);
  EXPECT_EQ(read.fields.priority, -3);
  EXPECT_TRUE(read.fields.progress);
  EXPECT_EQ(read.fields.retries, 2);
  run_extensions some;
  some.timeout = std::chrono::milliseconds{30000};
  some.retries = 0;
  EXPECT_EQ(make_run(c, "echo", "{}", false, some).payload(),
            original + R"(,"timeout":30,"retries":0})");
  some.timeout = std::chrono::milliseconds{7};
  EXPECT_EQ(read_packet(make_run(c, "echo", "{}", false, some)).fields.timeout, 0.007);
}

TEST(PacketWriterPeer, PipelinesFollowTheToken) {
  auto original = rcbroker::test_support::original_register(2);
  original.pop_back();
  std::vector<std::string> names{"echo", "up\"per"};
  EXPECT_EQ(make_register(2, std::nullopt, names).payload(),
            original + R"(,"pipelines":["echo","up\"per"]})");
  EXPECT_EQ(make_register(2, std::string{"t"}, names).payload(),
            original + R"(,"token":"t","pipelines":["echo","up\"per"]})");
  auto read = read_packet(make_register(2, std::nullopt, names));
  ASSERT_TRUE(read.ok()) << read.error;
  EXPECT_EQ(read.fields.pipelines, names);
}

TEST(PacketWriterPeer, ProgressCarriesTheCookieAndAResult) {
  auto c = parse_cookie("0f8fad5b-d9cb-469f-a165-70867728950e");
  auto f = make_progress(c, R"({"done": 0.5})");
  EXPECT_EQ(f.payload(),
            R"({"packet_type":"PROGRESS","cookie":"0f8fad5b-d9cb-469f-a165-70867728950e",)"
            R"("result":"{\"done\": 0.5}"})");
  auto read = read_packet(f, read_scope::whole);
  ASSERT_TRUE(read.ok()) << read.error;
  EXPECT_EQ(read.fields.type, packet_type::progress);
  EXPECT_EQ(read.fields.cookie, c);
  EXPECT_EQ(read.fields.result, R"({"done": 0.5})");
  EXPECT_GE(f.padded_size(), f.payload().size() + frame_padding);
}

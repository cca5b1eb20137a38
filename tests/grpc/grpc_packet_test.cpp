// The mapping between ReasonChipPacket and the JSON packets of the wire protocol, both ways.

#include "grpc_packet.hpp"
#include "raw_peer.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <gtest/gtest.h>

using namespace rcbroker;
using reasonchip::ReasonChipPacket;

namespace {

const std::string cookie_text = "0b5f2f2a-5f0c-4d6e-9a43-2b7f3c1d9e10";

protocol::cookie the_cookie() {
  return *protocol::cookie::parse(cookie_text);
}

} // namespace

TEST(GrpcPacket, RunBecomesTheOriginalsFrame) {
  ReasonChipPacket m;
  m.set_packet_type("RUN");
  m.mutable_cookie()->set_value(cookie_text);
  m.set_pipeline("echo");
  m.set_variables(R"({"x": 1})");
  // Byte for byte what an original client writes over a socket.
  EXPECT_EQ(transport::to_frame(m).payload(),
            test_support::original_run(cookie_text, "echo", R"({"x": 1})"));
}

TEST(GrpcPacket, RegisterCarriesCapacityAndToken) {
  ReasonChipPacket m;
  m.set_packet_type("REGISTER");
  m.set_capacity(3);
  m.set_token("s3cret");
  auto r = protocol::read_packet(transport::to_frame(m), protocol::read_scope::whole);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, protocol::packet_type::register_worker);
  EXPECT_EQ(r.fields.capacity, 3);
  EXPECT_EQ(r.fields.token, "s3cret");
  EXPECT_FALSE(r.fields.cookie);
}

TEST(GrpcPacket, ResultCarriesEveryPayloadField) {
  ReasonChipPacket m;
  m.set_packet_type("RESULT");
  m.mutable_cookie()->set_value(cookie_text);
  m.set_rc("PROCESSOR_EXCEPTION");
  m.set_error("it \"broke\"\n");
  m.add_stacktrace("line 1");
  m.add_stacktrace("line \u00e9 2");
  m.set_result(R"({"y": [1, 2]})");
  auto r = protocol::read_packet(transport::to_frame(m), protocol::read_scope::whole);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.rc, protocol::result_code::processor_exception);
  EXPECT_EQ(r.fields.cookie, the_cookie());
  EXPECT_EQ(r.fields.error, "it \"broke\"\n");
  EXPECT_EQ(r.fields.stacktrace, (std::vector<std::string>{"line 1", "line \u00e9 2"}));
  EXPECT_EQ(r.fields.result, R"({"y": [1, 2]})");
}

TEST(GrpcPacket, ExtensionFieldsWhenSet) {
  ReasonChipPacket m;
  m.set_packet_type("RUN");
  m.mutable_cookie()->set_value(cookie_text);
  m.set_pipeline("p");
  m.set_timeout(2.5);
  m.set_priority(-3);
  m.set_retries(2);
  m.set_progress(true);
  m.add_pipelines("a");
  auto payload = std::string{transport::to_frame(m).payload()};
  EXPECT_NE(payload.find(R"("timeout":2.5)"), std::string::npos) << payload;
  EXPECT_NE(payload.find(R"("priority":-3,"retries":2,"progress":true,"pipelines":["a"])"),
            std::string::npos)
      << payload;
  EXPECT_EQ(payload.find("attempts"), std::string::npos) << payload;
  EXPECT_EQ(payload.find("token"), std::string::npos) << payload;
  auto r = protocol::read_packet(transport::to_frame(m), protocol::read_scope::whole);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.timeout, 2.5);
}

TEST(GrpcPacket, WhatIsNoPacketFailsTheReaderAsFromASocket) {
  ReasonChipPacket m;
  m.set_packet_type("FOO");
  m.mutable_cookie()->set_value(cookie_text);
  auto r = protocol::read_packet(transport::to_frame(m));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.fields.cookie, the_cookie()); // the answer can name the task
  m.set_packet_type("RUN");
  m.set_timeout(std::numeric_limits<double>::quiet_NaN());
  r = protocol::read_packet(transport::to_frame(m));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("timeout"), std::string::npos) << r.error;
  EXPECT_EQ(r.fields.cookie, the_cookie());
  m.Clear();
  m.set_packet_type("RUN");
  m.mutable_cookie()->set_value("not-a-uuid");
  r = protocol::read_packet(transport::to_frame(m));
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.fields.cookie);
}

TEST(GrpcPacket, UnsetFieldsAreAbsent) {
  ReasonChipPacket m;
  auto r = protocol::read_packet(transport::to_frame(m), protocol::read_scope::whole);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(r.fields.type);
  EXPECT_FALSE(r.fields.cookie);
  EXPECT_FALSE(r.fields.capacity);
  EXPECT_FALSE(r.fields.pipeline);
  EXPECT_FALSE(r.fields.variables);
  EXPECT_FALSE(r.fields.detach);
  EXPECT_FALSE(r.fields.stacktrace);
}

TEST(GrpcPacket, OutboundFramesBecomeMessages) {
  ReasonChipPacket m;
  auto error = transport::to_message(protocol::make_result(the_cookie(), protocol::result_code::ok,
                                                           R"({"z":1})", std::nullopt,
                                                           std::vector<std::string>{"a", "b"}),
                                     m);
  ASSERT_EQ(error, "");
  EXPECT_EQ(m.packet_type(), "RESULT");
  EXPECT_EQ(m.cookie().value(), cookie_text);
  EXPECT_EQ(m.rc(), "OK");
  EXPECT_EQ(m.result(), R"({"z":1})");
  EXPECT_EQ(m.stacktrace_size(), 2);
  EXPECT_EQ(m.error(), "");

  m.Clear();
  ASSERT_EQ(transport::to_message(protocol::make_run(the_cookie(), "echo", "{}", true), m), "");
  EXPECT_EQ(m.packet_type(), "RUN");
  EXPECT_EQ(m.pipeline(), "echo");
  EXPECT_EQ(m.variables(), "{}");
  EXPECT_TRUE(m.detach());

  m.Clear();
  ASSERT_EQ(transport::to_message(protocol::make_shutdown(), m), "");
  EXPECT_EQ(m.packet_type(), "SHUTDOWN");
  EXPECT_FALSE(m.has_cookie());

  m.Clear();
  ASSERT_EQ(transport::to_message(protocol::make_register(4, std::string{"t"}), m), "");
  EXPECT_EQ(m.capacity(), 4);
  EXPECT_EQ(m.token(), "t");

  m.Clear();
  EXPECT_NE(transport::to_message(protocol::frame{"[1]"}, m), "");
}

TEST(GrpcPacket, RoundTripKeepsTheFields) {
  ReasonChipPacket in;
  in.set_packet_type("RESULT");
  in.mutable_cookie()->set_value(cookie_text);
  in.set_rc("EXCEPTION");
  in.set_error("e");
  in.set_result("null");
  in.add_stacktrace("s");
  ReasonChipPacket out;
  ASSERT_EQ(transport::to_message(transport::to_frame(in), out), "");
  EXPECT_EQ(in.SerializeAsString(), out.SerializeAsString());
}

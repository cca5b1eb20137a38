// The client library on the wire, against a broker played by the test: what it writes, and how
// it takes what a broker may send, good or bad.

#include "rcbroker/client/client.hpp"
#include "rcbroker/client/random_cookie.hpp"
#include "fake_broker.hpp"
#include "raw_peer.hpp"

#include <gtest/gtest.h>

using namespace rcbroker::client;
using rcbroker::protocol::result_code;
using rcbroker::test_support::fake_broker;
using rcbroker::test_support::original_cancel;
using rcbroker::test_support::original_result;
using rcbroker::test_support::original_run;
using namespace std::chrono_literals;

namespace {

template <class T>
bool ready_within(std::future<T>& f, std::chrono::milliseconds limit = 5000ms) {
  return f.wait_for(limit) == std::future_status::ready;
}

} // namespace

TEST(ClientWire, WritesRunAndCancelAsTheOriginalClient) {
  fake_broker broker;
  client c{broker.url()};
  auto peer = broker.accept();
  ASSERT_TRUE(peer);
  run_options options;
  options.cookie = random_cookie();
  auto text = options.cookie->to_string();
  auto f = c.run("echo", R"({"x": 1})", options);
  EXPECT_EQ(peer->receive(), original_run(text, "echo", R"({"x": 1})"));
  c.cancel(*options.cookie);
  EXPECT_EQ(peer->receive(), original_cancel(text));
  options.detach = true;
  options.cookie = random_cookie();
  c.run("bg", "[]", options);
  EXPECT_EQ(peer->receive(), original_run(options.cookie->to_string(), "bg", "[]", true));
}

TEST(ClientWire, ResultsAreMatchedByCookieInAnyOrder) {
  fake_broker broker;
  client c{broker.url()};
  auto peer = broker.accept();
  ASSERT_TRUE(peer);
  run_options first_options;
  first_options.cookie = random_cookie();
  run_options second_options;
  second_options.cookie = random_cookie();
  auto first = c.run("a", "{}", first_options);
  auto second = c.run("b", "{}", second_options);
  ASSERT_TRUE(peer->receive());
  ASSERT_TRUE(peer->receive());
  // An answer for a run this client does not wait for is ignored.
  peer->send(original_result(random_cookie().to_string(), "\"stray\""));
  peer->send(original_result(second_options.cookie->to_string(), "\"second\""));
  peer->send(original_result(first_options.cookie->to_string(), "\"first\""));
  ASSERT_TRUE(ready_within(first));
  ASSERT_TRUE(ready_within(second));
  EXPECT_EQ(first.get().value(), "\"first\"");
  EXPECT_EQ(second.get().value(), "\"second\"");
  EXPECT_TRUE(c.connected());
}

TEST(ClientWire, GarbageFromTheBrokerEndsOpenRunsWithBrokerWentAway) {
  for (std::string garbage :
       {std::string{"not json"},
        std::string{R"({"packet_type":"RESULT","cookie":null,"rc":"BOGUS"})"},
        std::string{R"({"packet_type":"RUN","cookie":null})"},
        std::string{R"({"packet_type":"RESULT","rc":"OK","stacktrace":7})"}, std::string{}}) {
    fake_broker broker;
    client c{broker.url()};
    auto peer = broker.accept();
    ASSERT_TRUE(peer);
    auto open = c.run("echo", "{}");
    ASSERT_TRUE(peer->receive());
    peer->send(garbage);
    ASSERT_TRUE(ready_within(open)) << garbage;
    auto r = open.get();
    EXPECT_EQ(r.rc, result_code::broker_went_away) << garbage;
    EXPECT_NE(r.error.value_or("").find("bad packet from the broker"), std::string::npos)
        << r.error.value_or("");
    EXPECT_TRUE(peer->closed_by_peer()) << "the client drops a broker that sends garbage";
    EXPECT_FALSE(c.connected());
  }
}

TEST(ClientWire, AnOversizedFrameEndsTheConnection) {
  fake_broker broker;
  client_options options;
  options.max_frame_size = 1024;
  client c{broker.url(), options};
  auto peer = broker.accept();
  ASSERT_TRUE(peer);
  auto open = c.run("echo", "{}");
  ASSERT_TRUE(peer->receive());
  peer->send_raw(std::string{"\x7f\xff\xff\xff", 4});
  ASSERT_TRUE(ready_within(open));
  EXPECT_EQ(open.get().rc, result_code::broker_went_away);
}

TEST(ClientWire, ABrokerThatHangsUpEndsEveryOpenRun) {
  fake_broker broker;
  client c{broker.url()};
  auto peer = broker.accept();
  ASSERT_TRUE(peer);
  std::vector<std::future<task_result>> open;
  for (int i = 0; i < 5; ++i)
    open.push_back(c.run("echo", "{}"));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(peer->receive());
  peer->close();
  for (auto& f : open) {
    ASSERT_TRUE(ready_within(f));
    EXPECT_EQ(f.get().rc, result_code::broker_went_away);
  }
}

TEST(ClientWire, ClosingFlushesWhatIsQueued) {
  fake_broker broker;
  run_options options;
  options.detach = true;
  options.cookie = random_cookie();
  {
    client c{broker.url()};
    c.run("fire", "{}", options);
  } // destroyed right away: the detached RUN must still go out
  auto peer = broker.accept();
  ASSERT_TRUE(peer);
  EXPECT_EQ(peer->receive(), original_run(options.cookie->to_string(), "fire", "{}", true));
  EXPECT_TRUE(peer->closed_by_peer());
}

// The client library on the wire, against a broker played by the test: what it writes, and how
// it takes what a broker may send, good or bad.

#include "fake_broker.hpp"
#include "raw_peer.hpp"
#include "rcbroker/client/client.hpp"
#include "rcbroker/client/random_cookie.hpp"

#include <gtest/gtest.h>
#include <mutex>
#include <vector>

using namespace rcbroker::client;
using rcbroker::protocol::result_code;
using rcbroker::test_support::fake_broker;
using rcbroker::test_support::original_cancel;
using rcbroker::test_support::original_result;
using rcbroker::test_support::original_run;
using rcbroker::test_support::progress_packet;
using rcbroker::test_support::raw_peer;
using namespace std::chrono_literals;

namespace {

// A client connected to a broker played by the test, its connection accepted.
struct wired_client {
  fake_broker broker;
  client c{broker.url()};
  std::optional<raw_peer> peer = broker.accept();
};

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

TEST(ClientWire, RunExtensionsAreWrittenOnlyWhenSet) {
  wired_client wired;
  ASSERT_TRUE(wired.peer);
  auto& c = wired.c;
  auto& peer = wired.peer;
  run_options options;
  options.cookie = random_cookie();
  auto plain = c.run("echo", "{}", options);
  auto original = original_run(options.cookie->to_string(), "echo", "{}");
  EXPECT_EQ(peer->receive(), original) << "an original client's RUN, byte for byte";
  options.cookie = random_cookie();
  options.priority = 5;
  options.retries = 1;
  options.timeout = 2500ms;
  options.on_progress = [](const rcbroker::protocol::cookie&, std::string) {};
  auto extended = c.run("echo", "{}", options);
  original = original_run(options.cookie->to_string(), "echo", "{}");
  original.pop_back();
  EXPECT_EQ(peer->receive(),
            original + R"(,"timeout":2.500,"priority":5,"progress":true,"retries":1})");
  // A detached run hears nothing back: it does not ask for progress.
  options.cookie = random_cookie();
  options.detach = true;
  options.retries.reset();
  options.timeout.reset();
  c.run("echo", "{}", options);
  original = original_run(options.cookie->to_string(), "echo", "{}", true);
  original.pop_back();
  EXPECT_EQ(peer->receive(), original + R"(,"priority":5})");
}

TEST(ClientWire, ProgressReachesItsHandlerBeforeTheResultAndAttemptsAreRead) {
  wired_client wired;
  ASSERT_TRUE(wired.peer);
  auto& c = wired.c;
  auto& peer = wired.peer;
  std::mutex m;
  std::vector<std::string> seen; // on the I/O thread: progress lines, then "result"
  run_options options;
  options.cookie = random_cookie();
  options.retries = 2;
  options.on_progress = [&](const rcbroker::protocol::cookie& cookie, std::string json) {
    std::lock_guard<std::mutex> lock{m};
    seen.push_back(cookie == *options.cookie ? json : "wrong cookie");
  };
  std::promise<task_result> done;
  c.run(
      "echo", "{}",
      [&](task_result r) {
        {
          std::lock_guard<std::mutex> lock{m};
          seen.push_back("result");
        }
        done.set_value(std::move(r));
      },
      options);
  auto text = options.cookie->to_string();
  ASSERT_TRUE(peer->receive());
  // A run without a handler did not ask: a PROGRESS for it is ignored, as one for no open run.
  run_options quiet;
  quiet.cookie = random_cookie();
  auto other = c.run("echo", "{}", quiet);
  ASSERT_TRUE(peer->receive());
  peer->send(progress_packet(quiet.cookie->to_string(), R"("ignored")"));
  peer->send(progress_packet(random_cookie().to_string(), R"("stray")"));
  peer->send(original_result(quiet.cookie->to_string(), "0"));
  ASSERT_TRUE(ready_within(other));
  EXPECT_FALSE(other.get().attempts);
  peer->send(progress_packet(text, R"({"step": 1})"));
  peer->send(progress_packet(text, "2"));
  auto result = original_result(text, R"("done")");
  result.pop_back();
  peer->send(result + R"(,"attempts":2})");
  auto f = done.get_future();
  ASSERT_TRUE(ready_within(f));
  auto r = f.get();
  EXPECT_EQ(r.value(), R"("done")");
  EXPECT_EQ(r.attempts, 2);
  std::lock_guard<std::mutex> lock{m};
  EXPECT_EQ(seen, (std::vector<std::string>{R"({"step": 1})", "2", "result"}));
  EXPECT_TRUE(c.connected());
}

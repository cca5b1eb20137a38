#pragma once

// What the Switchboard's deterministic tests share: frames as original peers write them, and a
// fixture driving the Switchboard message by message on the public actor test harness
// (rcbroker/testing), with peers that record every frame delivered to them.

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/actors/switchboard.hpp"
#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "rcbroker/testing/harness.hpp"

#include <caf/all.hpp>
#include <cstdint>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::actors::sbtest {

using protocol::packet_type;
using protocol::result_code;

/// A stand-in for a connection actor: joins the Switchboard and records what it is sent.
using fake_peer = rcbroker::testing::recorded_peer;

/// A cookie whose last byte is `n`, e.g. 00000000-0000-0000-0000-000000000007.
inline cookie cookie_n(std::uint8_t n) {
  cookie c;
  c.bytes[15] = n;
  return c;
}

/// A RUN frame as an original client writes it.
inline frame run_frame(const cookie& c, bool detach = false) {
  return frame{R"({"packet_type":"RUN","cookie":")" + c.to_string() +
               R"(","capacity":null,"pipeline":"echo","variables":"{\"x\": 1}","detach":)" +
               (detach ? "true" : "false") +
               R"(,"rc":null,"error":null,"stacktrace":null,"result":null})"};
}

/// A CANCEL frame as an original client writes it.
inline frame cancel_frame(const cookie& c) {
  return frame{R"({"packet_type":"CANCEL","cookie":")" + c.to_string() +
               R"(","capacity":null,"pipeline":null,"variables":null,"detach":null,"rc":null,)"
               R"("error":null,"stacktrace":null,"result":null})"};
}

/// A worker's RESULT frame; `tag` makes its bytes unique so forwarding can be checked exactly.
inline frame result_frame(const cookie& c, const std::string& tag = "done") {
  return frame{R"({"packet_type":"RESULT","cookie":")" + c.to_string() +
               R"(","capacity":null,"pipeline":null,"variables":null,"detach":null,"rc":"OK",)"
               R"("error":null,"stacktrace":null,"result":"\")" +
               tag + R"(\""})"};
}

/// Checks that `f` is the broker-made RESULT for `c` with `rc` and error `text`.
inline ::testing::AssertionResult is_result(const frame& f, const cookie& c, result_code rc,
                                            std::string_view text) {
  auto read = protocol::read_packet(f);
  if (!read.ok())
    return ::testing::AssertionFailure() << "unreadable frame: " << read.error;
  if (read.fields.type != packet_type::result)
    return ::testing::AssertionFailure() << "not a RESULT: " << f.payload();
  if (read.fields.cookie != c)
    return ::testing::AssertionFailure()
           << "cookie is not " << c.to_string() << ": " << f.payload();
  auto rc_text = "\"rc\":\"" + std::string{protocol::to_string(rc)} + "\"";
  if (f.payload().find(rc_text) == std::string_view::npos)
    return ::testing::AssertionFailure() << "no " << rc_text << " in " << f.payload();
  auto expected = protocol::make_broker_result(c, rc, text);
  if (f.payload() != expected.payload())
    return ::testing::AssertionFailure() << f.payload() << " is not " << expected.payload();
  return ::testing::AssertionSuccess();
}

/// The cookie a frame carries (or a zero cookie when it has none).
inline cookie cookie_of(const frame& f) {
  return protocol::read_packet(f).fields.cookie.value_or(cookie{});
}

/// The Switchboard on the public harness (rcbroker/testing), with raw frames as original peers
/// write them and sends from any peer in any role.
class SwitchboardTest : public ::testing::Test {
protected:
  SwitchboardTest() : sys_(det_.system()), sched_(det_.scheduler()) {}

  ~SwitchboardTest() override {
    // Peers spawned by the tests themselves (cluster links) are stopped here; the harness
    // stops its own and the Switchboard when the deterministic system ends.
    for (auto& peer : peers_)
      caf::anon_send_exit(peer.handle, caf::exit_reason::kill);
    det_.run();
  }

  /// Spawns the Switchboard under test.
  void start(switchboard_config config = {}) {
    harness_.emplace(det_, config);
    sb_ = harness_->switchboard();
  }

  fake_peer spawn_peer() {
    auto peer = rcbroker::testing::spawn_recorded_peer(det_);
    peers_.push_back(peer);
    return peer;
  }

  fake_peer join(peer_role role) {
    auto peer = harness_->join(role);
    peers_.push_back(peer);
    return peer;
  }

  fake_peer client() { return join(peer_role::client); }

  /// A client joining as a socket connection from `host` does.
  fake_peer client_from(const std::string& host) {
    auto peer = spawn_peer();
    caf::send_as(peer.handle, sb_, join_atom::value, peer_role::client, host);
    sched_.run();
    return peer;
  }

  /// A client joining as an HTTP request does: its CANCEL comes on another connection.
  fake_peer http_client(const std::string& host = "127.0.0.1") {
    auto peer = spawn_peer();
    caf::send_as(peer.handle, sb_, join_atom::value, peer_role::client, host, true,
                 std::string{"http"});
    sched_.run();
    return peer;
  }

  fake_peer worker(std::uint32_t capacity) {
    auto peer = join(peer_role::worker);
    register_slots(peer, capacity);
    return peer;
  }

  void register_slots(const fake_peer& worker, std::uint32_t capacity) {
    caf::send_as(worker.handle, sb_, register_atom::value, capacity);
    sched_.run();
  }

  /// Sends a RUN from `client` and returns the frame it sent.
  frame run(const fake_peer& client, const cookie& c, bool detach = false) {
    auto f = run_frame(c, detach);
    caf::send_as(client.handle, sb_, run_atom::value, c, detach, f);
    sched_.run();
    return f;
  }

  frame cancel(const fake_peer& client, const cookie& c) {
    auto f = cancel_frame(c);
    caf::send_as(client.handle, sb_, cancel_atom::value, c, f);
    sched_.run();
    return f;
  }

  frame result(const fake_peer& worker, const cookie& c, const std::string& tag = "done") {
    auto f = result_frame(c, tag);
    caf::send_as(worker.handle, sb_, result_atom::value, c, f);
    sched_.run();
    return f;
  }

  /// Sends the packets of one read of `peer`'s socket as a connection does: one message.
  void packets(const fake_peer& peer, std::vector<routed_packet> batch) {
    caf::send_as(peer.handle, sb_, packets_atom::value, std::move(batch));
    sched_.run();
  }

  void kill(const fake_peer& peer) {
    caf::anon_send_exit(peer.handle, caf::exit_reason::kill);
    sched_.run();
  }

  void advance(caf::timespan d) { harness_->advance_time(d); }

  switchboard_status status() { return answered(harness_->status(), "status"); }

  /// The Switchboard's detailed snapshot (traffic counters included).
  switchboard_snapshot snapshot() { return answered(harness_->snapshot(), "metrics"); }

  /// Asks for an orderly stop; returns how many frames the peers had received when the reply
  /// arrived (the reply is scheduled after every frame the Switchboard sent before it), or
  /// nullopt without a reply.
  std::optional<std::size_t> shutdown() {
    std::optional<std::size_t> frames_at_reply;
    harness_->shutdown([&] {
      std::size_t n = 0;
      for (auto& p : peers_)
        n += p.inbox->size();
      frames_at_reply = n;
    });
    return frames_at_reply;
  }

  rcbroker::testing::deterministic_system det_;
  caf::actor_system& sys_;
  caf::scheduler::test_coordinator& sched_;
  std::optional<rcbroker::testing::harness> harness_;
  switchboard_actor sb_;
  std::vector<fake_peer> peers_;

private:
  /// The answer, or a failed test and an empty value without one.
  template <class T>
  static T answered(std::optional<T> x, const char* request) {
    if (!x) {
      ADD_FAILURE() << "the Switchboard did not answer " << request;
      return {};
    }
    return std::move(*x);
  }
};

} // namespace rcbroker::actors::sbtest

#pragma once

// What the Switchboard's deterministic tests share: fake peers that record every frame delivered
// to them, frames as peers write them, and a fixture driving the Switchboard message by message
// through CAF's test coordinator.

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/actors/switchboard.hpp"
#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

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
struct fake_peer {
  peer_actor handle;
  std::shared_ptr<std::vector<frame>> inbox;
  /// Deliver messages received (one may carry several frames).
  std::shared_ptr<std::size_t> deliveries = std::make_shared<std::size_t>(0);

  /// Returns the frames delivered so far and forgets them.
  std::vector<frame> take() {
    auto frames = std::move(*inbox);
    inbox->clear();
    return frames;
  }
};

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

class SwitchboardTest : public ::testing::Test {
protected:
  static caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    return cfg;
  }

  SwitchboardTest()
      : sys_(testing_config(cfg_)),
        sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())) {}

  ~SwitchboardTest() override {
    // The actor system waits for every actor at its end: stop them all first.
    for (auto& peer : peers_)
      caf::anon_send_exit(peer.handle, caf::exit_reason::kill);
    if (sb_)
      caf::anon_send_exit(sb_, caf::exit_reason::kill);
    sched_.run();
  }

  /// Spawns the Switchboard under test.
  void start(switchboard_config config = {}) {
    sb_ = spawn_switchboard(sys_, config);
    sched_.run();
  }

  fake_peer spawn_peer() {
    auto inbox = std::make_shared<std::vector<frame>>();
    auto deliveries = std::make_shared<std::size_t>(0);
    // State goes in as a spawn argument, not a capture: CAF 0.17's spawn without arguments
    // dereferences a null tuple pointer (UBSan reports it).
    auto handle = sys_.spawn(
        [](peer_actor::pointer, std::shared_ptr<std::vector<frame>> inbox,
           std::shared_ptr<std::size_t> deliveries) -> peer_actor::behavior_type {
          return {[inbox, deliveries](deliver_atom, const frame& f) {
                    ++*deliveries;
                    inbox->push_back(f);
                  },
                  [inbox, deliveries](deliver_atom, const std::vector<frame>& fs) {
                    ++*deliveries;
                    inbox->insert(inbox->end(), fs.begin(), fs.end());
                  }};
        },
        inbox, deliveries);
    fake_peer peer{handle, inbox, deliveries};
    peers_.push_back(peer);
    return peer;
  }

  fake_peer join(peer_role role) {
    auto peer = spawn_peer();
    caf::send_as(peer.handle, sb_, join_atom::value, role);
    sched_.run();
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

  void advance(caf::timespan d) {
    sched_.advance_time(d);
    sched_.run();
  }

  /// What the Switchboard answers `Atom` with, or a failed test without an answer.
  template <class Result, class Atom>
  Result ask(Atom atom) {
    auto out = std::make_shared<std::optional<Result>>();
    sys_.spawn(
        [](caf::event_based_actor* self, switchboard_actor sb,
           std::shared_ptr<std::optional<Result>> out) {
          self->request(sb, caf::infinite, Atom::value).then([out](const Result& r) { *out = r; });
        },
        sb_, out);
    sched_.run();
    if (!out->has_value()) {
      ADD_FAILURE() << "the Switchboard did not answer " << caf::to_string(atom);
      return {};
    }
    return **out;
  }

  switchboard_status status() { return ask<switchboard_status>(status_atom::value); }

  /// The Switchboard's detailed snapshot (traffic counters included).
  switchboard_snapshot snapshot() { return ask<switchboard_snapshot>(metrics_atom::value); }

  /// Asks for an orderly stop; returns how many frames the peers had received when the reply
  /// arrived (the reply is scheduled after every frame the Switchboard sent before it), or
  /// nullopt without a reply.
  std::optional<std::size_t> shutdown() {
    auto frames_at_reply = std::make_shared<std::optional<std::size_t>>();
    sys_.spawn(
        [](caf::event_based_actor* self, switchboard_actor sb, std::vector<fake_peer> peers,
           std::shared_ptr<std::optional<std::size_t>> frames_at_reply) {
          self->request(sb, caf::infinite, shutdown_atom::value)
              .then([peers, frames_at_reply](done_atom) {
                std::size_t n = 0;
                for (auto& p : peers)
                  n += p.inbox->size();
                *frames_at_reply = n;
              });
        },
        sb_, peers_, frames_at_reply);
    sched_.run();
    return *frames_at_reply;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  switchboard_actor sb_;
  std::vector<fake_peer> peers_;
};

} // namespace rcbroker::actors::sbtest

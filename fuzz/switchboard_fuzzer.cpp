// libFuzzer target: the Switchboard driven through CAF's test coordinator by a sequence of
// operations from fake connections (join, RUN, CANCEL, REGISTER, RESULT, PROGRESS, disconnect,
// virtual time passing, strangers). A model written from docs/ROUTING.md and the extensions of
// docs/PROTOCOL.md (priority, progress, retries, pipelines) predicts every frame each fake must
// receive, in order, and every status count; after each step both are compared, and the routing
// invariants are checked on the Switchboard's own status reply.
//
// Input: byte 0 is the configuration (bits 0-1 queue-limit 0..3, bit 2 cancel-orphans, bits 3-4
// max-runs-per-client 0..3, bits 5-6 max-worker-capacity 0, 3, 5 or 8, bit 7
// retries-on-worker-loss 1 instead of 0), then the operations: two bytes each (three for an
// extended RUN); the first picks the operation (low 4 bits) and the connection (high 4 bits), the
// second its argument (cookie, capacity, time step, ...):
//   0 join as client   1 PROGRESS from a worker (argument bit 6: and the RESULT of that cookie in
//     the same packets_atom batch; bit 7: for any cookie rather than one of its routes)
//   2 join as worker   3, 4 RUN (as the original)
//   5 extended RUN: one more byte: bits 0-1 priority -1..2, bit 2 progress, bits 3-4 retries (0:
//     not given, else 0..2), bits 5-6 pipeline (0..2; 3: a bad RUN as run_atom, refused with
//     BAD_PACKET: its frame names the next cookie, or with bit 7 asks for 1001 retries), bit 7
//     sent as a connection's packets_atom batch rather than run_atom
//   6 CANCEL   7 REGISTER   8 RESULT   9 REGISTER with pipelines (bits 2-4 of the argument: the
//     subset of the 3 pipelines, possibly empty; bit 5: listed in reverse)
//   10 disconnect   11 time passes   12 stranger   13 forged grace   14 RESULT of an own route
//   15 CANCEL of an own route
// The input format before the extensions decodes as before (ops 1, 5 and 9 were duplicates of 0,
// 3 and 8, and config bit 7 was unused).

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/actors/switchboard.hpp"
#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <algorithm>
#include <array>
#include <caf/all.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>

namespace {

using namespace rcbroker::actors;
using rcbroker::protocol::make_broker_result;
using rcbroker::protocol::make_cancel;
using rcbroker::protocol::packet_type;
using rcbroker::protocol::result_code;

constexpr std::size_t connection_count = 6;
constexpr std::uint8_t cookie_space = 6;
constexpr std::size_t max_operations = 400;
constexpr caf::timespan cancel_grace = std::chrono::seconds{1};
constexpr caf::timespan time_step = std::chrono::milliseconds{250};
/// The pipelines RUNs name and workers serve; the original RUN names the first.
constexpr std::array<const char*, 3> pipeline_names{"echo", "sum", "sleep"};

/// What an extended RUN carries beyond the original's fields.
struct run_options {
  std::int64_t priority = 0;
  bool progress = false;
  std::int32_t retries = -1; ///< -1: not given
  std::string pipeline = pipeline_names[0];
  bool extended = false; ///< the frame names priority and progress
};

/// The one actor system of the process, on the deterministic test scheduler; each input gets a
/// fresh Switchboard and fresh peers in it.
struct test_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;

  test_system() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }
};

// Kept for the life of the process: destroying an actor system waits for all its actors.
test_system& the_system() {
  static auto* system = new test_system;
  return *system;
}

using inbox_ptr = std::shared_ptr<std::vector<frame>>;
using status_ptr = std::shared_ptr<std::optional<switchboard_status>>;

/// A stand-in for a connection actor: records every frame delivered to it.
peer_actor spawn_recorder(caf::actor_system& sys, inbox_ptr inbox) {
  // State goes in as a spawn argument: CAF 0.17's spawn without arguments dereferences a null
  // tuple pointer.
  return sys.spawn(
      [](peer_actor::pointer, inbox_ptr inbox) -> peer_actor::behavior_type {
        return {[inbox](deliver_atom, const frame& f) { inbox->push_back(f); },
                [inbox](deliver_atom, const std::vector<frame>& fs) {
                  inbox->insert(inbox->end(), fs.begin(), fs.end());
                }};
      },
      std::move(inbox));
}

/// Asks the Switchboard for its status whenever it gets `status_atom`, storing the reply.
caf::actor spawn_prober(caf::actor_system& sys, switchboard_actor sb, status_ptr out) {
  return sys.spawn(
      [](caf::event_based_actor* self, switchboard_actor sb, status_ptr out) -> caf::behavior {
        return {[self, sb, out](status_atom) {
          self->request(sb, caf::infinite, status_atom::value)
              .then([out](const switchboard_status& s) { *out = s; });
        }};
      },
      std::move(sb), std::move(out));
}

cookie cookie_n(std::uint8_t n) {
  cookie c;
  c.bytes[0] = 0xc0;
  c.bytes[15] = n;
  return c;
}

frame run_frame(const cookie& c, bool detach, std::uint64_t serial,
                const run_options& o = run_options{}) {
  std::string extensions;
  if (o.extended)
    extensions = R"(,"priority":)" + std::to_string(o.priority) + R"(,"progress":)" +
                 (o.progress ? "true" : "false");
  if (o.retries >= 0)
    extensions += R"(,"retries":)" + std::to_string(o.retries);
  return frame{R"({"packet_type":"RUN","cookie":")" + c.to_string() +
               R"(","capacity":null,"pipeline":")" + o.pipeline + R"(","variables":"{\"n\": )" +
               std::to_string(serial) + R"(}","detach":)" + (detach ? "true" : "false") +
               R"(,"rc":null,"error":null,"stacktrace":null,"result":null)" + extensions + "}"};
}

frame progress_frame(const cookie& c, std::uint64_t serial) {
  return frame{R"({"packet_type":"PROGRESS","cookie":")" + c.to_string() + R"(","result":"\")" +
               std::to_string(serial) + R"(\""})"};
}

/// A worker's RESULT as a client gets it for a RUN that carried `retries`: `"attempts":K` appended
/// as the last field.
std::string with_attempts(const frame& f, std::uint32_t attempts) {
  std::string payload{f.payload()};
  payload.pop_back(); // the closing brace
  return payload + R"(,"attempts":)" + std::to_string(attempts) + "}";
}

frame cancel_frame(const cookie& c) {
  return frame{R"({"packet_type":"CANCEL","cookie":")" + c.to_string() +
               R"(","capacity":null,"pipeline":null,"variables":null,"detach":null,"rc":null,)"
               R"("error":null,"stacktrace":null,"result":null})"};
}

frame result_frame(const cookie& c, result_code rc, std::uint64_t serial) {
  return frame{R"({"packet_type":"RESULT","cookie":")" + c.to_string() + R"(","rc":")" +
               std::string{rcbroker::protocol::to_string(rc)} + R"(","result":"\")" +
               std::to_string(serial) + R"(\""})"};
}

constexpr const char* cancelled_text = "Cancelled";

/// One fake connection as the model sees it. Model ids are never reused.
struct model_peer {
  peer_role role = peer_role::client;
  bool live = true;
  peer_actor handle;
  inbox_ptr inbox;
  std::uint64_t registered = 0; ///< worker: slots registered
  /// Worker: the pipelines its last REGISTER named (none: every pipeline).
  std::optional<std::set<std::string>> pipelines;
  std::set<cookie> running;      ///< worker: routes it runs
  std::set<cookie> cookies_sent; ///< client: every cookie it named in a RUN or CANCEL
  std::vector<std::string> due;  ///< payloads it must receive in the current step
};

struct model_route {
  frame run; ///< the client's RUN frame, sent as is on every attempt
  std::size_t client = 0;
  std::optional<std::size_t> worker; ///< none while queued
  std::uint64_t generation = 0;
  bool detach = false;
  bool cancel_sent = false;
  bool answered = false;
  // The extensions: what the RUN asked for, and how often it was given to a worker.
  std::string pipeline;
  std::int64_t priority = 0;
  std::uint32_t retries_left = 0;
  std::uint32_t attempts = 0;
  bool progress = false;
  bool report_attempts = false;
};

/// The waiting RUNs of one priority: clients take turns, each client's RUNs in order.
struct model_level {
  std::map<std::size_t, std::deque<cookie>> runs;
  std::deque<std::size_t> turns;
};

struct grace_timer {
  cookie c;
  std::uint64_t generation;
};

/// The Switchboard as docs/ROUTING.md describes it, plus the fakes and the actor under test.
class session {
public:
  session(test_system& ts, std::uint8_t config_byte)
      : sys_(*ts.sys), sched_(*ts.sched),
        status_(std::make_shared<std::optional<switchboard_status>>()) {
    cfg_.cancel_grace = cancel_grace;
    cfg_.queue_limit = config_byte & 3;
    cfg_.cancel_orphans = (config_byte & 4) != 0;
    cfg_.max_runs_per_client = (config_byte >> 3) & 3;
    static constexpr std::array<std::uint64_t, 4> capacities{0, 3, 5, 8};
    cfg_.max_worker_capacity = capacities[(config_byte >> 5) & 3];
    cfg_.retries_on_worker_loss = (config_byte & 0x80) != 0 ? 1 : 0;
    sb_ = spawn_switchboard(sys_, cfg_);
    prober_ = spawn_prober(sys_, sb_, status_);
    sched_.run();
    slots_.fill(std::nullopt);
    trace_ = "config: queue-limit " + std::to_string(cfg_.queue_limit) + ", cancel-orphans " +
             (cfg_.cancel_orphans ? "on" : "off") + ", max-runs-per-client " +
             std::to_string(cfg_.max_runs_per_client) + ", max-worker-capacity " +
             std::to_string(cfg_.max_worker_capacity) + ", retries-on-worker-loss " +
             std::to_string(cfg_.retries_on_worker_loss) + "\n";
  }

  ~session() {
    for (auto& p : peers_)
      if (p.live)
        caf::anon_send_exit(p.handle, caf::exit_reason::kill);
    for (auto& s : strangers_)
      caf::anon_send_exit(s.first, caf::exit_reason::kill);
    caf::anon_send_exit(sb_, caf::exit_reason::kill);
    caf::anon_send_exit(prober_, caf::exit_reason::kill);
    sched_.run();
    // Timers of this session fire now, into dead actors, rather than into a later session.
    sched_.advance_time(cancel_grace * 2);
    sched_.run();
  }

  /// How many bytes operation `op` takes beyond its argument.
  static std::size_t extra_bytes(std::uint8_t op) { return (op & 0x0F) == 5 ? 1 : 0; }

  /// Applies one operation to the model and the Switchboard, then compares them.
  void step(std::uint8_t op, std::uint8_t arg, std::uint8_t extra) {
    auto slot = static_cast<std::size_t>(op >> 4) % connection_count;
    switch (op & 0x0F) {
    case 0:
      join(slot, peer_role::client, arg);
      break;
    case 1:
      progress(slot, arg);
      break;
    case 2:
      join(slot, peer_role::worker, arg);
      break;
    case 3:
    case 4:
      run(slot, cookie_n(arg % cookie_space), (arg & 0x18) == 0x18, run_options{}, false);
      break;
    case 5: {
      run_options o;
      o.extended = true;
      o.priority = static_cast<std::int64_t>(extra & 3) - 1;
      o.progress = (extra & 4) != 0;
      o.retries = static_cast<std::int32_t>((extra >> 3) & 3) - 1;
      auto pipeline = static_cast<std::size_t>((extra >> 5) & 3);
      if (pipeline == pipeline_names.size()) {
        bad_run(slot, cookie_n(arg % cookie_space), (arg & 0x18) == 0x18, o, (extra & 0x80) != 0);
        break;
      }
      o.pipeline = pipeline_names[pipeline];
      run(slot, cookie_n(arg % cookie_space), (arg & 0x18) == 0x18, o, (extra & 0x80) != 0);
      break;
    }
    case 6:
      cancel(slot, cookie_n(arg % cookie_space));
      break;
    case 7:
      register_slots(slot, 1 + arg % 4, std::nullopt);
      break;
    case 8:
      result(slot, cookie_n(arg % cookie_space), arg);
      break;
    case 9: {
      std::vector<std::string> names;
      for (std::size_t i = 0; i < pipeline_names.size(); ++i)
        if ((arg >> (2 + i)) & 1)
          names.emplace_back(pipeline_names[i]);
      if (arg & 0x20)
        std::reverse(names.begin(), names.end());
      register_slots(slot, 1 + arg % 4, std::move(names));
      break;
    }
    case 10:
      kill(slot);
      break;
    case 11:
      advance(time_step * (1 + arg % 8));
      break;
    case 12:
      stranger(arg);
      break;
    case 13:
      forged_grace(slot, arg);
      break;
    case 14:
      result_of_own_route(slot, arg);
      break;
    default:
      cancel_own_route(slot, arg);
      break;
    }
    verify();
  }

  /// Disconnects every fake; then the Switchboard must hold nothing.
  void finish() {
    for (std::size_t s = 0; s < connection_count; ++s) {
      kill(s);
      verify();
    }
    if (show_frames_)
      std::fprintf(stderr, "%s", trace_.c_str());
    auto s = status();
    check(s.routes == 0 && s.registered_slots == 0 && s.free_slots == 0 && s.queued == 0 &&
              s.clients == 0 && s.workers == 0,
          "state left after every connection went away");
  }

private:
  // -- operations ---------------------------------------------------------------------------------

  void join(std::size_t slot, peer_role role, std::uint8_t arg) {
    if (auto id = slots_[slot]) {
      // A second join is refused, whatever role it claims.
      auto again = (arg & 1) ? peer_role::client : peer_role::worker;
      note("rejoin #" + std::to_string(*id));
      caf::send_as(peers_[*id].handle, sb_, join_atom::value, again);
      ++rejected_;
      return;
    }
    model_peer p;
    p.role = role;
    p.inbox = std::make_shared<std::vector<frame>>();
    p.handle = spawn_recorder(sys_, p.inbox);
    auto id = peers_.size();
    peers_.push_back(std::move(p));
    slots_[slot] = id;
    note(std::string{"join #"} + std::to_string(id) +
         (role == peer_role::client ? " client" : " worker"));
    caf::send_as(peers_[id].handle, sb_, join_atom::value, role);
  }

  void run(std::size_t slot, const cookie& c, bool detach, const run_options& o, bool as_packets) {
    auto id = slots_[slot];
    if (!id)
      return;
    auto& p = peers_[*id];
    auto f = run_frame(c, detach, ++serial_, o);
    std::string text = "RUN #" + std::to_string(*id) + " " + name(c) + (detach ? " detached" : "");
    if (o.extended)
      text += " priority " + std::to_string(o.priority) + (o.progress ? " progress" : "") +
              " pipeline " + o.pipeline;
    if (o.retries >= 0)
      text += " retries " + std::to_string(o.retries);
    note(text + (as_packets ? " (packets)" : ""));
    if (as_packets) {
      // As a connection passes it on: the fields it read from the frame.
      routed_packet rp{packet_type::run, c, detach, false, {}, f};
      rp.priority = o.priority;
      rp.progress = o.progress;
      rp.pipeline = o.pipeline;
      rp.retries = o.retries;
      caf::send_as(p.handle, sb_, packets_atom::value, std::vector<routed_packet>{rp});
    } else {
      caf::send_as(p.handle, sb_, run_atom::value, c, detach, f);
    }
    if (p.role != peer_role::client) {
      ++rejected_;
      return;
    }
    p.cookies_sent.insert(c);
    if (routes_.count(c) > 0) {
      answer(*id, c, result_code::cookie_collision, "Already in use");
      return;
    }
    if (cfg_.max_runs_per_client > 0 && open_routes(*id) >= cfg_.max_runs_per_client) {
      auto text = "Too many runs in flight on this connection (max-runs-per-client " +
                  std::to_string(cfg_.max_runs_per_client) + ")";
      answer(*id, c, result_code::no_capacity, text.c_str());
      return;
    }
    model_route r;
    r.client = *id;
    r.detach = detach;
    r.generation = ++generation_;
    r.run = f;
    r.progress = o.progress;
    r.priority = o.priority;
    r.pipeline = o.pipeline;
    r.report_attempts = o.retries >= 0;
    r.retries_left = o.retries >= 0 ? static_cast<std::uint32_t>(o.retries)
                                    : static_cast<std::uint32_t>(cfg_.retries_on_worker_loss);
    if (auto worker = take_slot(o.pipeline)) {
      start(c, routes_.emplace(c, std::move(r)).first->second, *worker);
      return;
    }
    if (queued_ < cfg_.queue_limit) {
      routes_.emplace(c, std::move(r));
      queue_push(*id, c, o.priority, false);
      return;
    }
    if (restricted_workers() == 0)
      answer(*id, c, result_code::no_capacity, "No capacity available");
    else
      answer(*id, c, result_code::no_capacity,
             ("No capacity available for pipeline '" + o.pipeline + "'").c_str());
  }

  /// A RUN the Switchboard reads itself (run_atom) and refuses as a connection would: its frame
  /// names another cookie, or (`bad_retries`) asks for more retries than allowed.
  void bad_run(std::size_t slot, const cookie& c, bool detach, run_options o, bool bad_retries) {
    auto id = slots_[slot];
    if (!id)
      return;
    auto& p = peers_[*id];
    if (bad_retries)
      o.retries = static_cast<std::int32_t>(max_retries_on_worker_loss) + 1;
    auto named =
        bad_retries ? c : cookie_n(static_cast<std::uint8_t>((c.bytes[15] + 1) % cookie_space));
    note("bad RUN #" + std::to_string(*id) + " " + name(c) +
         (bad_retries ? " retries " + std::to_string(o.retries) : " naming " + name(named)));
    caf::send_as(p.handle, sb_, run_atom::value, c, detach, run_frame(named, detach, ++serial_, o));
    if (p.role != peer_role::client) {
      ++rejected_;
      return;
    }
    p.cookies_sent.insert(c);
    answer(*id, c, result_code::bad_packet,
           bad_retries ? "Bad retries: an integer from 0 to 1000"
                       : "Bad packet: not a RUN for its cookie");
  }

  void cancel(std::size_t slot, const cookie& c) {
    auto id = slots_[slot];
    if (!id)
      return;
    auto& p = peers_[*id];
    auto f = cancel_frame(c);
    note("CANCEL #" + std::to_string(*id) + " " + name(c));
    caf::send_as(p.handle, sb_, cancel_atom::value, c, f);
    if (p.role != peer_role::client) {
      ++rejected_;
      return;
    }
    p.cookies_sent.insert(c);
    auto it = routes_.find(c);
    if (it == routes_.end() || it->second.client != *id || it->second.answered) {
      answer(*id, c, result_code::cookie_not_found, "No such cookie");
      return;
    }
    auto& r = it->second;
    if (!r.worker) {
      queue_remove(*id, c, r.priority);
      auto detach = r.detach;
      routes_.erase(it);
      if (!detach)
        answer(*id, c, result_code::exception, cancelled_text);
      return;
    }
    if (r.cancel_sent)
      return; // the worker had its CANCEL: a repeat is dropped
    expect(*r.worker, f);
    r.cancel_sent = true;
    timers_.emplace(now_ + cancel_grace, grace_timer{c, r.generation});
  }

  void register_slots(std::size_t slot, std::uint32_t capacity,
                      std::optional<std::vector<std::string>> pipelines) {
    auto id = slots_[slot];
    if (!id)
      return;
    auto& p = peers_[*id];
    std::string text = "REGISTER #" + std::to_string(*id) + " " + std::to_string(capacity);
    if (pipelines) {
      text += " pipelines [";
      for (auto& n : *pipelines)
        text += " " + n;
      text += " ]";
      note(text);
      caf::send_as(p.handle, sb_, register_atom::value, capacity, *pipelines);
    } else {
      note(text);
      caf::send_as(p.handle, sb_, register_atom::value, capacity);
    }
    if (p.role != peer_role::worker) {
      ++rejected_;
      return;
    }
    if (cfg_.max_worker_capacity > 0 && p.registered + capacity > cfg_.max_worker_capacity) {
      expect(*id, make_broker_result(std::nullopt, result_code::bad_packet,
                                     "Capacity over max-worker-capacity " +
                                         std::to_string(cfg_.max_worker_capacity) +
                                         ": this connection would have " +
                                         std::to_string(p.registered + capacity) + " slots"));
      return;
    }
    // The latest REGISTER says which pipelines the connection serves (without the field: all).
    if (pipelines)
      p.pipelines.emplace(pipelines->begin(), pipelines->end());
    else
      p.pipelines.reset();
    p.registered += capacity;
    for (std::uint32_t i = 0; i < capacity; ++i)
      free_.push_back(*id);
    dispatch();
  }

  void result(std::size_t slot, const cookie& c, std::uint8_t arg) {
    auto id = slots_[slot];
    if (!id)
      return;
    auto& p = peers_[*id];
    static constexpr std::array<result_code, 3> codes{
        result_code::ok, result_code::processor_exception, result_code::exception};
    auto rc = codes[(arg >> 4) % codes.size()];
    auto f = result_frame(c, rc, ++serial_);
    note("RESULT #" + std::to_string(*id) + " " + name(c));
    // Connections send the rc they read; actor workers leave it to the Switchboard.
    if (arg & 0x80)
      caf::send_as(p.handle, sb_, result_atom::value, c, rc, f);
    else
      caf::send_as(p.handle, sb_, result_atom::value, c, f);
    result_done(*id, c, f);
  }

  /// What the RESULT `f` for `c` from the peer `id` does (sent already).
  void result_done(std::size_t id, const cookie& c, const frame& f) {
    auto it = worker_route(id, c);
    if (it == routes_.end())
      return;
    auto r = std::move(it->second);
    routes_.erase(it);
    peers_[id].running.erase(c);
    if (peers_[r.client].live && !r.detach && !r.answered) {
      ++forwarded_;
      if (r.report_attempts)
        expect(r.client, frame{with_attempts(f, r.attempts)});
      else
        expect(r.client, f);
    }
    free_.push_back(id);
    dispatch();
  }

  void kill(std::size_t slot) {
    auto id = slots_[slot];
    if (!id)
      return;
    slots_[slot].reset();
    auto& p = peers_[*id];
    p.live = false;
    note("kill #" + std::to_string(*id));
    caf::anon_send_exit(p.handle, caf::exit_reason::kill);
    if (p.role == peer_role::worker) {
      // Its free slots go first: a task that runs again never lands on them.
      free_.erase(std::remove(free_.begin(), free_.end(), *id), free_.end());
      for (auto& c : p.running) {
        auto& r = routes_.at(c);
        if (r.retries_left > 0 && !r.cancel_sent && !r.answered && peers_[r.client].live) {
          // Runs again: the same RUN frame on another slot, or first in line of its priority.
          --r.retries_left;
          r.worker.reset();
          if (auto worker = take_slot(r.pipeline)) {
            start(c, r, *worker);
            continue;
          }
          if (queued_ < cfg_.queue_limit) {
            queue_push(r.client, c, r.priority, true);
            continue;
          }
        }
        if (peers_[r.client].live && !r.detach && !r.answered)
          answer(r.client, c, result_code::worker_went_away, "The worker connection went away");
        routes_.erase(c);
      }
      p.running.clear();
      return;
    }
    for (auto& c : queue_remove_client(*id))
      routes_.erase(c);
    for (auto& [c, r] : routes_) {
      if (r.client != *id || !r.worker)
        continue;
      if (cfg_.cancel_orphans && !r.detach && !r.cancel_sent && !r.answered) {
        r.cancel_sent = true;
        expect(*r.worker, make_cancel(c));
      }
    }
  }

  /// A worker's PROGRESS for one of its routes (or, with bit 7 or none running, for a cookie that
  /// may be another worker's or nobody's), with bit 6 followed by its RESULT in the same batch;
  /// from a client it is refused, as from no actor when the connection slot is empty.
  void progress(std::size_t slot, std::uint8_t arg) {
    auto id = slots_[slot];
    if (!id) {
      // From no actor (as through a cluster port): refused.
      auto c = cookie_n(arg % cookie_space);
      note("anonymous PROGRESS " + name(c));
      caf::anon_send(
          sb_, packets_atom::value,
          std::vector<routed_packet>{
              {packet_type::progress, c, false, false, {}, progress_frame(c, ++serial_)}});
      ++rejected_;
      return;
    }
    auto& p = peers_[*id];
    auto c = cookie_n(arg % cookie_space);
    if ((arg & 0x80) == 0 && !p.running.empty())
      c = *std::next(p.running.begin(), static_cast<long>(arg % p.running.size()));
    auto f = progress_frame(c, ++serial_);
    std::vector<routed_packet> batch{{packet_type::progress, c, false, false, {}, f}};
    // With bit 6, the RESULT of the same cookie follows in the same read, as one batch: what the
    // Switchboard delivers for both goes out at the batch's end, in order.
    std::optional<frame> done;
    if (arg & 0x40) {
      done = result_frame(c, result_code::ok, ++serial_);
      batch.push_back({packet_type::result, c, false, true, result_code::ok, *done});
    }
    note("PROGRESS #" + std::to_string(*id) + " " + name(c) + (done ? " and its RESULT" : ""));
    caf::send_as(p.handle, sb_, packets_atom::value, std::move(batch));
    if (auto it = worker_route(*id, c); it != routes_.end()) {
      auto& r = it->second;
      // Forwarded byte for byte, only when asked for and someone waits for it; the slot stays
      // busy.
      if (r.progress && !r.detach && !r.answered && peers_[r.client].live)
        expect(r.client, f);
    }
    if (done)
      result_done(*id, c, *done);
  }

  void advance(caf::timespan d) {
    note("advance " + std::to_string(d.count() / 1000000) + " ms");
    now_ += d;
    sched_.advance_time(d);
    while (!timers_.empty() && timers_.begin()->first <= now_) {
      auto t = timers_.begin()->second;
      timers_.erase(timers_.begin());
      auto it = routes_.find(t.c);
      if (it == routes_.end() || it->second.generation != t.generation || it->second.answered)
        continue;
      auto& r = it->second;
      r.answered = true;
      if (peers_[r.client].live && !r.detach)
        answer(r.client, t.c, result_code::exception, cancelled_text);
    }
  }

  /// A message from an actor that never joined (or from no actor): refused, changes nothing.
  void stranger(std::uint8_t arg) {
    auto c = cookie_n(arg % cookie_space);
    auto kind = (arg >> 4) % 6;
    bool anonymous = (arg & 0x80) != 0 || kind == 5; // anyone may join, but not anonymously
    note(std::string{anonymous ? "anonymous " : "stranger "} + std::to_string(kind));
    ++rejected_;
    if (kind == 5) {
      caf::anon_send(sb_, join_atom::value, peer_role::worker);
      return;
    }
    auto inbox = std::make_shared<std::vector<frame>>();
    auto handle = spawn_recorder(sys_, inbox);
    strangers_.push_back({handle, inbox});
    auto send = [&](auto&&... xs) {
      if (anonymous)
        caf::anon_send(sb_, xs...);
      else
        caf::send_as(handle, sb_, xs...);
    };
    switch (kind) {
    case 0:
      send(run_atom::value, c, false, run_frame(c, false, ++serial_));
      break;
    case 1:
      send(cancel_atom::value, c, cancel_frame(c));
      break;
    case 2:
      send(register_atom::value, std::uint32_t{3});
      break;
    case 3:
      send(result_atom::value, c, result_frame(c, result_code::ok, ++serial_));
      break;
    default:
      send(capacity_atom::value, slot_offer{5, 5, {}});
      break;
    }
  }

  /// A grace message only counts when the Switchboard sent it to itself.
  void forged_grace(std::size_t slot, std::uint8_t arg) {
    auto c = cookie_n(arg % cookie_space);
    std::uint64_t generation = arg >> 3;
    note("forged grace " + name(c));
    if (auto id = slots_[slot])
      caf::send_as(peers_[*id].handle, sb_, grace_atom::value, c, generation);
    else
      caf::anon_send(sb_, grace_atom::value, c, generation);
    ++rejected_;
  }

  void result_of_own_route(std::size_t slot, std::uint8_t arg) {
    auto id = slots_[slot];
    if (!id || peers_[*id].running.empty())
      return;
    auto& running = peers_[*id].running;
    auto it = std::next(running.begin(), static_cast<long>(arg % running.size()));
    result(slot, *it, arg);
  }

  void cancel_own_route(std::size_t slot, std::uint8_t arg) {
    auto id = slots_[slot];
    if (!id)
      return;
    std::vector<cookie> own;
    for (auto& [c, r] : routes_)
      if (r.client == *id)
        own.push_back(c);
    if (own.empty())
      return;
    cancel(slot, own[arg % own.size()]);
  }

  // -- the model's routing ------------------------------------------------------------------------

  /// The route `c` when the worker `id` runs it; else end(), counted as the Switchboard counts
  /// it: a sender that is no worker is refused, another's route or none is dropped.
  std::map<cookie, model_route>::iterator worker_route(std::size_t id, const cookie& c) {
    if (peers_[id].role != peer_role::worker) {
      ++rejected_;
      return routes_.end();
    }
    auto it = routes_.find(c);
    if (it == routes_.end() || it->second.worker != id) {
      ++dropped_;
      return routes_.end();
    }
    return it;
  }

  /// Whether the worker `id` runs RUNs of `pipeline`.
  bool serves(std::size_t id, const std::string& pipeline) const {
    auto& w = peers_[id];
    return !w.pipelines || w.pipelines->count(pipeline) > 0;
  }

  /// Live workers whose last REGISTER named pipelines.
  std::size_t restricted_workers() const {
    return static_cast<std::size_t>(
        std::count_if(peers_.begin(), peers_.end(), [](const model_peer& p) {
          return p.live && p.role == peer_role::worker && p.pipelines.has_value();
        }));
  }

  /// Takes the least recently freed slot of a worker serving `pipeline`.
  std::optional<std::size_t> take_slot(const std::string& pipeline) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (serves(*it, pipeline)) {
        auto worker = *it;
        free_.erase(it);
        return worker;
      }
    }
    return std::nullopt;
  }

  void start(const cookie& c, model_route& r, std::size_t worker) {
    r.worker = worker;
    ++r.attempts;
    peers_[worker].running.insert(c);
    ++accepted_;
    expect(worker, r.run); // the client's RUN frame, the same on every attempt
  }

  /// Queues a RUN: after its client's others of its priority (the client's turn last if it had
  /// none there), or, to run again, first of its priority (its client's turn next).
  void queue_push(std::size_t client, const cookie& c, std::int64_t priority, bool front) {
    auto& lvl = queue_[priority];
    auto& runs = lvl.runs[client];
    if (front) {
      if (!runs.empty())
        lvl.turns.erase(std::find(lvl.turns.begin(), lvl.turns.end(), client));
      lvl.turns.push_front(client);
      runs.push_front(c);
    } else {
      if (runs.empty())
        lvl.turns.push_back(client);
      runs.push_back(c);
    }
    ++queued_;
  }

  void queue_remove(std::size_t client, const cookie& c, std::int64_t priority) {
    auto& lvl = queue_.at(priority);
    auto& runs = lvl.runs.at(client);
    runs.erase(std::find(runs.begin(), runs.end(), c));
    --queued_;
    if (!runs.empty())
      return;
    lvl.runs.erase(client);
    lvl.turns.erase(std::find(lvl.turns.begin(), lvl.turns.end(), client));
    if (lvl.turns.empty())
      queue_.erase(priority);
  }

  std::vector<cookie> queue_remove_client(std::size_t client) {
    std::vector<cookie> removed;
    for (auto& [priority, lvl] : queue_) {
      auto it = lvl.runs.find(client);
      if (it != lvl.runs.end())
        removed.insert(removed.end(), it->second.begin(), it->second.end());
    }
    for (auto& c : removed)
      queue_remove(client, c, routes_.at(c).priority);
    return removed;
  }

  /// Gives free slots to waiting RUNs: highest priority first; within one, clients in turn order,
  /// each client's RUNs oldest first; the first that a free slot serves goes (a RUN that none
  /// serves keeps its place), and its client's next turn comes last.
  void dispatch() {
    while (!free_.empty() && queued_ > 0) {
      std::optional<std::pair<cookie, std::size_t>> next;
      for (auto& [priority, lvl] : queue_) {
        for (auto client : lvl.turns) {
          for (auto& c : lvl.runs.at(client)) {
            if (auto worker = take_slot(routes_.at(c).pipeline)) {
              next.emplace(c, *worker);
              break;
            }
          }
          if (next)
            break;
        }
        if (next)
          break;
      }
      if (!next)
        return;
      auto& r = routes_.at(next->first);
      queue_remove(r.client, next->first, r.priority);
      // queue_remove keeps the client's place in the turns; taking a RUN sends it to the back.
      if (auto it = queue_.find(r.priority); it != queue_.end()) {
        auto& turns = it->second.turns;
        auto at = std::find(turns.begin(), turns.end(), r.client);
        if (at != turns.end()) {
          turns.erase(at);
          turns.push_back(r.client);
        }
      }
      start(next->first, r, next->second);
    }
  }

  /// Routes of a client in every state: queued, running, detached, answered.
  std::size_t open_routes(std::size_t client) const {
    return static_cast<std::size_t>(std::count_if(
        routes_.begin(), routes_.end(), [client](auto& r) { return r.second.client == client; }));
  }

  void expect(std::size_t peer, const frame& f) {
    if (peers_[peer].live)
      peers_[peer].due.emplace_back(f.payload());
  }

  void answer(std::size_t client, const cookie& c, result_code rc, const char* text) {
    expect(client, make_broker_result(c, rc, text));
  }

  // -- checks -------------------------------------------------------------------------------------

  /// Runs the Switchboard until idle, then compares what each fake got and the status counts.
  void verify() {
    sched_.run();
    for (std::size_t id = 0; id < peers_.size(); ++id) {
      auto& p = peers_[id];
      std::vector<std::string> got;
      for (auto& f : *p.inbox)
        got.emplace_back(f.payload());
      p.inbox->clear();
      if (p.role == peer_role::client)
        for (auto& payload : got) {
          // Whatever the model says: a client only ever hears of cookies it named itself.
          auto c = rcbroker::protocol::read_packet(frame{payload}).fields.cookie;
          check(c && p.cookies_sent.count(*c) > 0,
                "a client got a RESULT for a cookie it never sent: " + payload);
        }
      if (show_frames_)
        for (auto& g : got)
          note("  -> #" + std::to_string(id) + " " + g);
      // In order: the Switchboard is their one sender, and CAF keeps one sender's order.
      if (got != p.due) {
        std::string text = "peer #" + std::to_string(id) + " got:\n";
        for (auto& g : got)
          text += "  " + g + "\n";
        text += "expected:\n";
        for (auto& d : p.due)
          text += "  " + d + "\n";
        check(false, text);
      }
      p.due.clear();
    }
    for (auto& s : strangers_)
      check(s.second->empty(), "a stranger was sent a frame");

    auto s = status();
    std::uint64_t clients = 0;
    std::uint64_t workers = 0;
    std::uint64_t registered = 0;
    for (auto& p : peers_) {
      if (!p.live)
        continue;
      (p.role == peer_role::client ? clients : workers) += 1;
      registered += p.registered;
    }
    std::uint64_t busy = 0;
    for (auto& [c, r] : routes_) {
      if (r.worker) {
        check(peers_[*r.worker].live, "a route runs on a worker that went away");
        ++busy;
      } else {
        check(peers_[r.client].live, "a queued RUN outlived its client");
      }
    }
    // The invariant of docs/ROUTING.md, on the Switchboard's own figures.
    check(s.free_slots + busy == s.registered_slots,
          "free + busy slots differ from the registered capacity");
    check(s.registered_slots == registered, "registered_slots differs from the live workers'");
    check(s.free_slots == free_.size(), "free_slots differs from the model");
    check(s.routes == routes_.size(), "routes differs from the model");
    check(s.queued == queued_, "queued differs from the model");
    check(s.clients == clients && s.workers == workers, "peer counts differ from the model");
    check(s.runs_accepted == accepted_, "runs_accepted differs from the model");
    check(s.results_forwarded == forwarded_, "results_forwarded differs from the model");
    check(s.results_dropped == dropped_, "results_dropped differs from the model");
    check(s.messages_rejected == rejected_, "messages_rejected differs from the model");
  }

  switchboard_status status() {
    status_->reset();
    caf::anon_send(prober_, status_atom::value);
    sched_.run();
    check(status_->has_value(), "the Switchboard did not answer status");
    return **status_;
  }

  void check(bool ok, const std::string& what) {
    if (ok)
      return;
    std::fprintf(stderr, "switchboard_fuzzer: %s\noperations:\n%s", what.c_str(), trace_.c_str());
    std::abort();
  }

  void note(const std::string& line) { trace_ += "  " + line + "\n"; }

  static std::string name(const cookie& c) { return "c" + std::to_string(c.bytes[15]); }

  caf::actor_system& sys_;
  caf::scheduler::test_coordinator& sched_;
  switchboard_config cfg_;
  switchboard_actor sb_;
  caf::actor prober_;
  status_ptr status_;

  std::vector<model_peer> peers_;
  std::array<std::optional<std::size_t>, connection_count> slots_;
  std::vector<std::pair<peer_actor, inbox_ptr>> strangers_;
  std::map<cookie, model_route> routes_;
  std::deque<std::size_t> free_; ///< the free-slot FIFO, one entry a slot
  /// The waiting RUNs, highest priority first.
  std::map<std::int64_t, model_level, std::greater<>> queue_;
  std::uint64_t queued_ = 0;
  std::multimap<caf::timespan, grace_timer> timers_;
  caf::timespan now_{0};
  std::uint64_t generation_ = 0;
  std::uint64_t serial_ = 0;

  std::uint64_t accepted_ = 0;
  std::uint64_t forwarded_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t rejected_ = 0;
  std::string trace_;
  /// SWITCHBOARD_FUZZER_TRACE set: the trace lists the frames each fake got, and is printed at
  /// the end of every input (to see what a seed exercises).
  bool show_frames_ = std::getenv("SWITCHBOARD_FUZZER_TRACE") != nullptr;
};

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The Switchboard logs each anomaly at warn: the fuzzer makes thousands a second.
  spdlog::set_level(spdlog::level::off);
  the_system();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  session s{the_system(), data[0]};
  std::size_t i = 1;
  for (std::size_t n = 0; i + 1 < size && n < max_operations; ++n) {
    auto op = data[i];
    auto arg = data[i + 1];
    i += 2;
    std::uint8_t extra = 0;
    for (std::size_t k = 0; k < session::extra_bytes(op); ++k, ++i)
      extra = i < size ? data[i] : 0;
    s.step(op, arg, extra);
  }
  s.finish();
  return 0;
}

#include "rcbroker/actors/switchboard.hpp"

#include "rcbroker/actors/fair_queue.hpp"
#include "rcbroker/actors/packet_check.hpp"
#include "rcbroker/actors/slot_fifo.hpp"
#include "rcbroker/logging/component.hpp"
#include "rcbroker/logging/repeated.hpp"
#include "rcbroker/protocol/packet.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <algorithm>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace rcbroker::actors {

namespace {

/// This file's logger: its level is the `switchboard` entry of `log-levels`.
spdlog::logger& switchboard_log() {
  return logging::logger(logging::component::switchboard);
}

using protocol::result_code;

/// The socket clients of one host, for `max-runs-per-address`.
struct host_entry {
  std::uint64_t clients = 0; ///< joined clients from the host
  std::uint64_t routes = 0;  ///< their open routes
};

/// What the Switchboard knows about one joined peer.
struct peer_entry {
  peer_role role = peer_role::client;
  peer_actor handle;
  /// Client: its open routes (queued or running, answered or not). Worker: the routes it runs.
  std::set<cookie> routes;
  /// Worker only: the slots it registered.
  std::uint64_t registered = 0;
  /// Worker only: the pipelines it serves, sorted (absent: every pipeline), as its last REGISTER
  /// said.
  std::optional<std::vector<std::string>> pipelines;
  /// Tasks given to it (worker side) or routes it opened (client side) since it joined.
  std::uint64_t tasks = 0;
  /// Cluster client only: where this node's slot offers go.
  cluster_link_actor link;
  /// Cluster client: the offer it was last sent. Cluster worker: what its node offers now (less
  /// what this node has sent there since).
  slot_offer offer;
  /// Socket client only: its host ("" otherwise) and that host's entry (stable: a map node).
  std::string host;
  host_entry* host_load = nullptr;
  /// Client only: each of its requests arrives on a connection of its own (HTTP), so a CANCEL
  /// comes from another connection than its RUN: such clients may cancel each other's runs by
  /// cookie (docs/ROUTING.md).
  bool cancels_by_cookie = false;
  /// Client side only: the count of RESULTs delivered to clients of its transport (an entry of
  /// `results_by_transport`, stable: a map node).
  std::uint64_t* results_delivered = nullptr;
};

bool is_worker_side(peer_role role) {
  return role == peer_role::worker || role == peer_role::link_worker;
}

using clock_type = caf::actor_clock::clock_type;

/// Task deadlines, earliest first (a multimap: its iterators stay valid, so a route keeps its own).
using deadline_map = std::multimap<clock_type::time_point, cookie>;

/// One task: binds a cookie to the client that sent the RUN and the worker running it.
struct route {
  peer_id client = 0;
  /// The worker running it; 0 while the RUN waits in the queue.
  peer_id worker = 0;
  bool detach = false;
  /// The client asked for the worker's PROGRESS packets.
  bool progress = false;
  /// Its place in the queue: higher first.
  std::int64_t priority = 0;
  /// Its pipeline, kept while queued, and while running when it may run again.
  std::string pipeline;
  /// How often it may still run again if its worker goes away.
  std::uint32_t retries_left = 0;
  /// How often it was given to a worker.
  std::uint32_t attempts = 0;
  /// The RUN carried `retries`: its RESULT gets the extension field `attempts`.
  bool report_attempts = false;
  /// A CANCEL went to the worker (from the client, or on the broker's account for an orphan).
  bool cancel_sent = false;
  /// The client has had its final RESULT from the broker (cancel grace ran out); the route only
  /// waits for the worker to free the slot.
  bool answered = false;
  /// Unique per route, so a grace timer of an older route with the same cookie never matches.
  std::uint64_t generation = 0;
  /// The RUN frame, kept while queued, and while running when it may run again.
  frame run_frame;
  /// The journal holds it (or will once the batch sent with it is written): its end removes it.
  bool journaled = false;
  /// A detached RUN whose journal write has not been confirmed: it runs only once it has.
  bool awaiting_commit = false;
  /// When the RUN reached the Switchboard (for the RUN→RESULT latency histogram).
  clock_type::time_point started;
  /// Its entry in the deadlines, while it has one (a deadline that has not passed yet).
  bool has_deadline = false;
  deadline_map::iterator deadline;
};

constexpr const char* cancelled_text = "Cancelled";
constexpr const char* cancel_taken_text = "Cancel taken; the run's own request gets its RESULT";
constexpr const char* worker_went_away_text = "The worker connection went away";
constexpr const char* broker_went_away_text = "The broker is shutting down";
constexpr const char* draining_text =
    "The node is draining before it stops: it takes no new RUNs; send this one to another node";

/// A cookie in a log line, formatted only if the line is logged (routing logs at debug must cost
/// nothing per task when debug is off).
struct cookie_text {
  const cookie& value;
};

/// A peer in a log line, e.g. "worker #3", formatted only if the line is logged.
struct peer_text {
  peer_role role;
  peer_id id;
};

} // namespace
} // namespace rcbroker::actors

template <>
struct fmt::formatter<rcbroker::actors::cookie_text> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const rcbroker::actors::cookie_text& x, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(x.value.to_string(), ctx);
  }
};

template <>
struct fmt::formatter<rcbroker::actors::peer_text> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const rcbroker::actors::peer_text& x, FormatContext& ctx) const {
    return fmt::format_to(ctx.out(), "{} #{}", rcbroker::actors::role_name(x.role), x.id);
  }
};

namespace rcbroker::actors {
namespace {

struct switchboard_state;

using switchboard_pointer = switchboard_actor::stateful_pointer<switchboard_state>;

/// All routes and worker slots of the node. Only the Switchboard actor touches it.
struct switchboard_state {
  static inline const char* name = "switchboard";

  explicit switchboard_state(switchboard_pointer self_ptr) : self(self_ptr) {}

  switchboard_pointer self;
  switchboard_config cfg;
  /// The error of a RUN over `max_runs_per_client`, made once.
  std::string too_many_runs_text;
  /// The error of a RUN over `max_runs_per_address`, made once.
  std::string too_many_host_runs_text;

  std::map<peer_id, peer_entry> peers; // ordered: shutdown visits peers in join order
  std::unordered_map<caf::actor_addr, peer_id> peer_by_addr;
  peer_id next_peer_id = 1;

  std::unordered_map<cookie, route> routes;
  std::uint64_t next_generation = 1;
  /// Socket clients and their open routes by host.
  /// Draining: no new RUN is taken; the waiters get `done` once no route is open.
  bool draining = false;
  std::vector<caf::typed_response_promise<done_atom>> drain_waiters;
  std::unordered_map<std::string, host_entry> hosts;
  /// RESULTs delivered to clients, by the transport they came by (never shrinks: a handful).
  std::map<std::string, std::uint64_t> results_by_transport;

  /// Deadlines of the routes that have one; one timer runs, for the earliest.
  deadline_map deadlines;
  std::vector<deadline_map::node_type> spare_deadlines;
  bool deadline_timer_armed = false;
  clock_type::time_point deadline_timer_at;

  /// Nodes of finished routes, reused by the next ones: a task's bookkeeping allocates nothing.
  std::vector<std::unordered_map<cookie, route>::node_type> spare_routes;
  std::vector<std::set<cookie>::node_type> spare_cookies;
  static constexpr std::size_t spare_limit = 4096;

  /// Free slots of this node's own workers: always preferred.
  slot_fifo local_slots;
  /// Free slots that other nodes offer through their links.
  slot_fifo remote_slots;
  /// Whether a flush of slot offers to link clients is scheduled, and whether their periodic
  /// refresh is.
  bool flush_scheduled = false;
  bool refresh_scheduled = false;
  std::uint64_t link_clients = 0;

  /// RUNs waiting for a free slot, clients taking turns.
  fair_queue queue;
  /// Live workers that serve only some pipelines; while there is none, a RUN takes the front
  /// slot without looking at its pipeline.
  std::uint64_t restricted_workers = 0;

  bool shutting_down = false;

  std::uint64_t runs_accepted = 0;
  std::uint64_t results_forwarded = 0;
  std::uint64_t results_dropped = 0;
  std::uint64_t messages_rejected = 0;
  std::uint64_t cluster_runs_sent = 0;
  std::uint64_t cluster_runs_received = 0;
  /// Counters for the admin endpoint's metrics; the hot path only increments them.
  traffic_counters traffic;

  /// Journal changes not sent yet: they go as one batch once the messages queued before the
  /// first of them are handled. The detached routes among them run once it is written.
  std::vector<journal::journal_entry> journal_out;
  std::vector<std::pair<cookie, std::uint64_t /* generation */>> journal_awaiting;
  bool journal_flush_scheduled = false;
  /// Runs the journal holds, as this actor counts them.
  std::uint64_t journal_rows = 0;
  bool replayed = false;
  /// The error of a RUN the full journal cannot take, made once.
  std::string journal_full_text;

  // -- helpers ----------------------------------------------------------------------------------

  /// The actor clock's time (the test coordinator's in deterministic tests).
  clock_type::time_point now() const { return self->clock().now(); }

  route& add_route(const cookie& c, route r) {
    if (spare_routes.empty())
      return routes.emplace(c, std::move(r)).first->second;
    auto node = std::move(spare_routes.back());
    spare_routes.pop_back();
    node.key() = c;
    node.mapped() = std::move(r);
    return routes.insert(std::move(node)).position->second;
  }

  void drop_route(std::unordered_map<cookie, route>::iterator it) {
    clear_deadline(it->second);
    if (it->second.journaled)
      journal_remove(it->first);
    auto node = routes.extract(it);
    if (spare_routes.size() < spare_limit) {
      node.mapped().run_frame = frame{}; // holds no bytes while spare
      spare_routes.push_back(std::move(node));
    }
    finish_drain_if_done();
  }

  /// Starts a drain: no new RUN is taken; `rp` gets `done` once no route is open.
  void drain(caf::typed_response_promise<done_atom> rp) {
    if (!draining)
      switchboard_log().info("switchboard: draining: new RUNs get NO_CAPACITY; waiting for {} "
                             "open task(s)",
                             routes.size());
    draining = true;
    drain_waiters.push_back(std::move(rp));
    finish_drain_if_done();
  }

  void finish_drain_if_done() {
    if (!draining || !routes.empty() || drain_waiters.empty())
      return;
    switchboard_log().info("switchboard: drained: no task open");
    for (auto& rp : drain_waiters)
      rp.deliver(done_atom::value);
    drain_waiters.clear();
  }

  /// Adds `c` to a peer's set of routes.
  void track(std::set<cookie>& set, const cookie& c) {
    if (spare_cookies.empty()) {
      set.insert(c);
      return;
    }
    auto node = std::move(spare_cookies.back());
    spare_cookies.pop_back();
    node.value() = c;
    set.insert(std::move(node));
  }

  /// Removes `c` from a peer's set of routes.
  void untrack(std::set<cookie>& set, const cookie& c) {
    auto node = set.extract(c);
    if (node && spare_cookies.size() < spare_limit)
      spare_cookies.push_back(std::move(node));
  }

  /// Adds `c` to a client's routes, counting it for the client's host.
  void track_client(peer_entry& client, const cookie& c) {
    track(client.routes, c);
    ++client.tasks;
    if (client.host_load != nullptr)
      ++client.host_load->routes;
  }

  /// Removes `c` from a client's routes and from its host's count.
  void untrack_client(peer_entry& client, const cookie& c) {
    auto before = client.routes.size();
    untrack(client.routes, c);
    if (client.host_load != nullptr && client.routes.size() < before)
      --client.host_load->routes;
  }

  peer_entry* find_peer(peer_id id) {
    auto it = peers.find(id);
    return it == peers.end() ? nullptr : &it->second;
  }

  /// The entry of the peer that sent the current message, or end(). An anonymous sender (a plain
  /// anon_send, possibly from another node through the cluster port) has a null address, which
  /// std::hash<actor_addr> dereferences: it must never be looked up.
  std::unordered_map<caf::actor_addr, peer_id>::iterator find_sender() {
    auto addr = caf::actor_cast<caf::actor_addr>(self->current_sender());
    return addr ? peer_by_addr.find(addr) : peer_by_addr.end();
  }

  /// The joined peer that sent the current message, if it has `expected` role; otherwise logs,
  /// counts and returns null (connection actors only send their own kinds, so this is defensive).
  std::pair<peer_id, peer_entry*> sender_as(peer_role expected, const char* what) {
    auto it = find_sender();
    if (it == peer_by_addr.end()) {
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped {} from a peer that has not joined", what);
      return {0, nullptr};
    }
    auto& peer = peers.at(it->second);
    bool worker_side = is_worker_side(peer.role);
    if (worker_side != (expected == peer_role::worker)) {
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped {} from {}: only a {} may send it", what,
                             peer_text{peer.role, it->second}, role_name(expected));
      return {0, nullptr};
    }
    return {it->second, &peer};
  }

  /// Frames for one peer while a batch of packets is handled, sent as one message at its end.
  struct outgoing {
    peer_actor to;
    std::vector<frame> frames;
  };
  std::vector<outgoing> outbox;
  bool batching = false;

  void deliver(const peer_entry& peer, frame f) {
    if (!batching) {
      self->send(peer.handle, deliver_atom::value, std::move(f));
      return;
    }
    // A batch reaches a handful of peers: a linear search beats a map.
    for (auto& o : outbox) {
      if (o.to == peer.handle) {
        o.frames.push_back(std::move(f));
        return;
      }
    }
    outbox.push_back({peer.handle, {}});
    outbox.back().frames.push_back(std::move(f));
  }

  /// Handles the packets of one read of a socket connection; what they make the Switchboard
  /// deliver goes out as one message per peer, in order.
  void on_packets(std::vector<routed_packet>& batch) {
    {
      // Deliveries go back to one message a frame when the batch ends, even by an exception.
      struct batching_scope {
        bool& flag;
        explicit batching_scope(bool& f) : flag(f) { flag = true; }
        ~batching_scope() { flag = false; }
      } scope{batching};
      for (auto& p : batch)
        route_packet(p);
    }
    for (auto& o : outbox) {
      if (o.frames.size() == 1)
        self->send(o.to, deliver_atom::value, std::move(o.frames.front()));
      else
        self->send(o.to, deliver_atom::value, std::move(o.frames));
    }
    outbox.clear();
  }

  void route_packet(routed_packet& p) {
    switch (p.type) {
    case protocol::packet_type::run:
      on_run(p);
      break;
    case protocol::packet_type::cancel:
      on_cancel(p.id, p.bytes);
      break;
    case protocol::packet_type::result:
      on_result(p.id, p.bytes,
                p.has_rc ? std::optional<result_code>{p.rc}
                         : protocol::read_packet(p.bytes).fields.rc);
      break;
    case protocol::packet_type::progress:
      on_progress(p.id, p.bytes);
      break;
    default:
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped a routed packet of a type it does not route");
      break;
    }
  }

  void answer(peer_entry& client, const cookie& c, result_code rc, const char* text) {
    ++traffic.broker_results[static_cast<std::size_t>(rc)];
    count_result(client);
    deliver(client, protocol::make_broker_result(c, rc, text));
  }

  /// Counts a RESULT delivered to `client` for its transport.
  static void count_result(peer_entry& client) {
    if (client.results_delivered != nullptr)
      ++*client.results_delivered;
    // The other node frees the slot it counted for the RUN as the RESULT arrives.
    if (client.role == peer_role::link_client)
      client.offer.give_back();
  }

  /// Delivers a peer's frame unchanged to another peer, counting it.
  void forward(const peer_entry& to, frame f) {
    auto wire_bytes = f.payload().size() + 4;
    if (is_worker_side(to.role)) {
      ++traffic.frames_to_workers;
      traffic.bytes_to_workers += wire_bytes;
    } else {
      ++traffic.frames_to_clients;
      traffic.bytes_to_clients += wire_bytes;
    }
    deliver(to, std::move(f));
  }

  // -- journal ----------------------------------------------------------------------------------

  bool journaling() const { return static_cast<bool>(cfg.journal); }

  void journal_write(journal::journal_entry e) {
    journal_out.push_back(std::move(e));
    if (!journal_flush_scheduled) {
      journal_flush_scheduled = true;
      self->send(self, journal_atom::value);
    }
  }

  /// Writes the route's RUN to the journal (it keeps its frame until it runs).
  void journal_add(const cookie& c, route& r, std::int32_t retries) {
    journal_write({c, r.run_frame, r.detach, r.priority, retries});
    r.journaled = true;
    ++journal_rows;
    ++traffic.journal_writes;
  }

  void journal_remove(const cookie& c) {
    journal_write({c, frame{}, false, 0, -1});
    if (journal_rows > 0)
      --journal_rows;
  }

  /// Whether the journal has room for one more run; if not, answers the RUN with NO_CAPACITY.
  bool journal_room(peer_entry& client, const cookie& c) {
    if (cfg.journal_max_runs == 0 || journal_rows < cfg.journal_max_runs)
      return true;
    auto n = ++traffic.journal_refused_full;
    if (logging::worth_logging(n))
      switchboard_log().warn("switchboard: the journal holds {} run(s), its journal-max-runs: "
                             "RUNs that it would have to keep get NO_CAPACITY [{} so far]",
                             journal_rows, n);
    answer(client, c, result_code::no_capacity, journal_full_text.c_str());
    return false;
  }

  /// Sends the journal the changes made since the last batch.
  void on_journal_flush() {
    if (self->current_sender() != self->ctrl()) {
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped a journal flush that it did not send itself");
      return;
    }
    journal_flush_scheduled = false;
    send_journal_batch();
  }

  void send_journal_batch() {
    if (journal_out.empty())
      return;
    auto awaiting = std::make_shared<std::vector<std::pair<cookie, std::uint64_t>>>(
        std::move(journal_awaiting));
    journal_awaiting.clear();
    auto batch = std::move(journal_out);
    journal_out.clear();
    self->request(cfg.journal, caf::infinite, journal_atom::value, std::move(batch))
        .then([this, awaiting](journal_commit& commit) { on_commit(*awaiting, commit); },
              [this, awaiting](caf::error& err) {
                journal_commit failed;
                failed.ok = false;
                failed.error = "the journal actor did not answer: " + caf::to_string(err);
                ++traffic.journal_failed_batches;
                on_commit(*awaiting, failed);
              });
  }

  /// A batch was written (or not): its detached RUNs run, or are refused.
  void on_commit(const std::vector<std::pair<cookie, std::uint64_t>>& awaiting,
                 journal_commit& commit) {
    // The first batch a transaction answers carries its time (journal_commit); the others 0.
    if (commit.latency_ns != 0) {
      traffic.journal_latency.observe(std::chrono::nanoseconds{commit.latency_ns});
      if (!commit.ok)
        ++traffic.journal_failed_batches;
    }
    std::string refusal;
    if (!commit.ok)
      refusal = "The journal could not keep this detached RUN (" + commit.error +
                "); it was not run: send it again later or to another node";
    for (auto& [c, generation] : awaiting) {
      auto it = routes.find(c);
      if (it == routes.end() || it->second.generation != generation || !it->second.awaiting_commit)
        continue; // cancelled, timed out or shut down while it was written
      auto& r = it->second;
      r.awaiting_commit = false;
      if (!commit.ok) {
        ++traffic.journal_refused_failed;
        r.journaled = false; // no row to remove
        if (journal_rows > 0)
          --journal_rows;
        auto* client = find_peer(r.client);
        if (client != nullptr)
          untrack_client(*client, c);
        drop_route(it);
        if (client != nullptr)
          answer(*client, c, result_code::no_capacity, refusal.c_str());
        continue;
      }
      place(c, r);
    }
    note_capacity_change();
  }

  /// Runs a route that waits for no one on a free slot serving its pipeline, else queues it.
  void place(const cookie& c, route& r) {
    if (auto worker_id = take_slot(peer_role::client, r.pipeline); worker_id != 0) {
      auto run_frame = r.retries_left > 0 ? r.run_frame : std::move(r.run_frame);
      start_running(c, r, run_frame, worker_id);
      return;
    }
    queue.push(r.client, c, r.priority);
  }

  /// The runs the journal held at start: each runs again as a detached RUN of no client (its
  /// RESULT goes nowhere), with the cookie it had, once a worker serving it has a free slot.
  void on_replay(std::vector<journal::journal_entry>& entries) {
    if (replayed || !journaling() || !peers.empty()) {
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped a replay: only the node sends one, at start");
      return;
    }
    replayed = true;
    std::uint64_t skipped = 0;
    for (auto& e : entries) {
      auto verdict = check_packet(peer_role::client, protocol::read_packet(e.run), {});
      auto& p = verdict.routed;
      if (verdict.what != packet_verdict::action::route || p.type != protocol::packet_type::run ||
          p.id != e.id || routes.count(e.id) > 0) {
        ++skipped;
        continue;
      }
      route r;
      r.detach = true;
      r.priority = e.priority;
      r.retries_left =
          e.retries >= 0 ? static_cast<std::uint32_t>(e.retries) : cfg.retries_on_worker_loss;
      r.pipeline = pipeline_of(p);
      r.generation = next_generation++;
      r.started = now();
      r.journaled = true;
      r.run_frame = std::move(e.run);
      auto& stored = add_route(e.id, std::move(r));
      set_deadline(e.id, stored, p.timeout_ms);
      ++journal_rows;
      ++traffic.journal_replays;
      place(e.id, stored);
    }
    switchboard_log().info("switchboard: the journal held {} run(s) from before the start: {} "
                           "run again as workers register{}",
                           entries.size(), entries.size() - skipped,
                           skipped == 0 ? std::string{}
                                        : fmt::format(" ({} unreadable, skipped)", skipped));
  }

  // -- slots ------------------------------------------------------------------------------------

  slot_fifo& pool_of(const peer_entry& worker) {
    return worker.role == peer_role::link_worker ? remote_slots : local_slots;
  }

  /// Whether a RUN from a client of `role` finds a slot: other nodes' RUNs only use local slots,
  /// so a task never crosses more than one link.
  bool has_free_slot(peer_role client_role) const {
    return local_slots.count() > 0 ||
           (client_role == peer_role::client && remote_slots.count() > 0);
  }

  /// Whether `worker` runs `pipeline`.
  static bool serves(const peer_entry& worker, std::string_view pipeline) {
    return !worker.pipelines ||
           std::binary_search(worker.pipelines->begin(), worker.pipelines->end(), pipeline);
  }

  /// Takes a free slot for a RUN of `pipeline` from a client of `client_role`, least recently
  /// freed first among the local workers that serve it, else (clients only) of the first link
  /// whose node offers a slot for the pipeline. Returns its worker, or 0 when none is free.
  peer_id take_slot(peer_role client_role, std::string_view pipeline) {
    peer_id worker = 0;
    if (restricted_workers == 0) {
      if (local_slots.count() > 0)
        worker = local_slots.take();
    } else if (local_slots.count() > 0) {
      worker = local_slots.take_first([&](peer_id id) { return serves(peers.at(id), pipeline); });
    }
    if (worker == 0 && client_role == peer_role::client && remote_slots.count() > 0) {
      worker =
          remote_slots.take_first([&](peer_id id) { return peers.at(id).offer.serves(pipeline); });
      if (worker != 0) {
        peers.at(worker).offer.take(pipeline);
        ++cluster_runs_sent;
      }
    }
    return worker;
  }

  /// The free local slots as links offer them to other nodes: per pipeline only while some
  /// worker serves only some pipelines.
  slot_offer local_offer() const {
    slot_offer offer;
    offer.total = local_slots.count();
    if (restricted_workers == 0) {
      offer.any = offer.total;
      return offer;
    }
    local_slots.for_each([&](peer_id id, std::uint64_t free) {
      auto& worker = peers.at(id);
      if (!worker.pipelines) {
        offer.any += free;
        return;
      }
      for (auto& name : *worker.pipelines)
        offer.by_pipeline[name] += free;
    });
    return offer;
  }

  /// Tells link clients the free local slots soon, once for many changes.
  void note_capacity_change() {
    if (link_clients == 0 || flush_scheduled)
      return;
    flush_scheduled = true;
    self->delayed_send(self, std::chrono::milliseconds{5}, flush_atom::value);
  }

  /// Sends each link client the offer of free local slots where it differs from what its node
  /// makes of the last one (each link client's `offer` follows the RUNs it sent and the RESULTs
  /// it got as its node counts them), or to every one with `all`.
  void send_offers(bool all) {
    auto now_offered = local_offer();
    for (auto& [id, peer] : peers) {
      if (peer.role == peer_role::link_client && (all || peer.offer != now_offered)) {
        peer.offer = now_offered;
        self->send(peer.link, capacity_atom::value, now_offered);
      }
    }
  }

  void on_flush() {
    flush_scheduled = false;
    send_offers(false);
  }

  /// Every second while links listen, each gets the offer as it is: the other node's count
  /// drifts when an offer and its RUNs cross.
  void on_refresh() {
    if (self->current_sender() != self->ctrl()) {
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped a tick that it did not send itself");
      return;
    }
    refresh_scheduled = false;
    if (link_clients == 0)
      return;
    send_offers(true);
    schedule_refresh();
  }

  void schedule_refresh() {
    if (refresh_scheduled)
      return;
    refresh_scheduled = true;
    self->delayed_send(self, std::chrono::seconds{1}, tick_atom::value);
  }

  void on_capacity(slot_offer& offer) {
    auto it = find_sender();
    if (it == peer_by_addr.end() || peers.at(it->second).role != peer_role::link_worker) {
      ++messages_rejected;
      switchboard_log().warn(
          "switchboard: dropped a capacity update from a peer that is not a link worker");
      return;
    }
    remote_slots.remove(it->second);
    remote_slots.add(it->second, offer.total);
    switchboard_log().debug("switchboard: {} offers {} slot(s)",
                            peer_text{peer_role::link_worker, it->second}, offer.total);
    peers.at(it->second).offer = std::move(offer);
    dispatch_queued();
  }

  // -- routes -----------------------------------------------------------------------------------

  /// Runs the route on the slot of `worker_id` (taken by take_slot): forwards its RUN frame there.
  void start_running(const cookie& c, route& r, const frame& run_frame, peer_id worker_id) {
    auto& worker = peers.at(worker_id);
    r.worker = worker_id;
    ++r.attempts;
    // Only a RUN that may run again keeps its frame (a copy of its own, not its read block).
    r.run_frame = r.retries_left > 0 ? run_frame.compacted() : frame{};
    track(worker.routes, c);
    ++worker.tasks;
    ++runs_accepted;
    switchboard_log().debug("switchboard: {} runs on {}", cookie_text{c},
                            peer_text{peer_role::worker, worker_id});
    forward(worker, run_frame);
  }

  /// Hands free slots to queued RUNs: higher priorities first, clients taking turns within one;
  /// a RUN no free slot can serve (its pipeline) keeps its place and lets the next one go.
  void dispatch_queued() {
    while (has_free_slot(peer_role::client) && !queue.empty()) {
      peer_id worker_id = 0;
      auto next = queue.pop_first([&](const cookie& c) {
        worker_id = take_slot(peer_role::client, routes.at(c).pipeline);
        return worker_id != 0;
      });
      if (!next)
        return;
      auto& r = routes.at(next->cookie);
      // A queued RUN with a client waiting leaves the journal as it runs (a detached one when it
      // is done).
      if (r.journaled && !r.detach) {
        r.journaled = false;
        journal_remove(next->cookie);
      }
      auto run_frame = r.retries_left > 0 ? r.run_frame : std::move(r.run_frame);
      start_running(next->cookie, r, run_frame, worker_id);
    }
  }

  /// A new route for a RUN of `client_id`, its arrival counted now.
  route& open_route(peer_id client_id, peer_entry& client, routed_packet& p) {
    route r;
    r.client = client_id;
    r.detach = p.detach;
    r.progress = p.progress;
    r.priority = p.priority;
    // Another node's RUN runs again, and counts its attempts, on the node of its client.
    if (client.role != peer_role::link_client) {
      r.report_attempts = p.retries >= 0;
      r.retries_left =
          p.retries >= 0 ? static_cast<std::uint32_t>(p.retries) : cfg.retries_on_worker_loss;
    }
    if (r.retries_left > 0)
      r.pipeline = pipeline_of(p);
    r.generation = next_generation++;
    r.started = now();
    auto& stored = add_route(p.id, std::move(r));
    track_client(client, p.id);
    set_deadline(p.id, stored, p.timeout_ms);
    return stored;
  }

  /// The RUN's pipeline: as its connection read it, else read from the frame now.
  static std::string pipeline_of(const routed_packet& p) {
    if (!p.pipeline.empty())
      return p.pipeline;
    return protocol::read_packet(p.bytes).fields.pipeline.value_or("");
  }

  /// Gives a route whose worker went away to another slot, or queues it ahead of the RUNs of its
  /// priority (when `queue-limit` has room); false when neither is possible.
  bool run_again(const cookie& c, route& r) {
    --r.retries_left;
    r.worker = 0;
    if (auto worker_id = take_slot(peer_role::client, r.pipeline); worker_id != 0) {
      auto run_frame = r.run_frame;
      start_running(c, r, run_frame, worker_id);
      return true;
    }
    if (queue.size() >= cfg.queue_limit)
      return false;
    queue.push_front(r.client, c, r.priority);
    switchboard_log().debug("switchboard: {} queued to run again", cookie_text{c});
    return true;
  }

  void enqueue(peer_id client_id, peer_entry& client, routed_packet& p) {
    auto& r = open_route(client_id, client, p);
    // A queued RUN may wait long: it keeps a copy, not the read block it came in.
    r.run_frame = p.bytes.compacted();
    // Workers serving only some pipelines may register while it waits: it keeps its pipeline.
    if (r.pipeline.empty())
      r.pipeline = pipeline_of(p);
    if (journaling() && client.role == peer_role::client)
      journal_add(p.id, r, p.retries);
    queue.push(client_id, p.id, p.priority);
    switchboard_log().debug("switchboard: {} queued ({} waiting)", cookie_text{p.id}, queue.size());
  }

  // -- handlers ---------------------------------------------------------------------------------

  void on_join(peer_role role, std::string host = {}, bool cancels_by_cookie = false,
               std::string transport = {}) {
    auto sender = self->current_sender();
    auto addr = caf::actor_cast<caf::actor_addr>(sender);
    if (!sender || peer_by_addr.count(addr) > 0) {
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped join from {}",
                             sender ? "a peer that already joined" : "an anonymous sender");
      return;
    }
    auto id = next_peer_id++;
    auto& peer = peers[id];
    peer.role = role;
    peer.handle = caf::actor_cast<peer_actor>(sender);
    peer_by_addr.emplace(addr, id);
    self->monitor(peer.handle);
    peer.cancels_by_cookie = role == peer_role::client && cancels_by_cookie;
    if (!is_worker_side(role)) {
      // Actor clients and cluster links join without a transport of their own.
      if (transport.empty())
        transport = role == peer_role::link_client ? "cluster" : "actor";
      peer.results_delivered = &results_by_transport[transport];
    }
    if (role == peer_role::client && !host.empty()) {
      auto& load = hosts[host];
      ++load.clients;
      peer.host_load = &load;
      peer.host = std::move(host);
    }
    if (role == peer_role::link_client) {
      peer.link = caf::actor_cast<cluster_link_actor>(sender);
      peer.offer = local_offer();
      ++link_clients;
      schedule_refresh();
      self->send(peer.link, capacity_atom::value, peer.offer);
      switchboard_log().info("switchboard: another node linked here ({} slot(s) free)",
                             local_slots.count());
    }
    switchboard_log().debug("switchboard: {} joined", peer_text{role, id});
  }

  /// A RUN from an actor or a link, which no connection read: read here under the rules a
  /// connection applies (an actor of another node may send anything); an actor client's may come
  /// with `settings`, which count over the frame's fields.
  void on_run(const cookie& c, bool detach, frame& run_frame, const run_settings& settings = {}) {
    auto verdict = check_packet(peer_role::client, protocol::read_packet(run_frame), {});
    auto& p = verdict.routed;
    if (verdict.what != packet_verdict::action::route || p.type != protocol::packet_type::run ||
        p.id != c) {
      auto [client_id, client] = sender_as(peer_role::client, "RUN");
      if (client == nullptr)
        return;
      ++traffic.runs_received;
      switchboard_log().warn("switchboard: bad RUN {} from {}: {}", cookie_text{c},
                             peer_text{client->role, client_id},
                             verdict.error.empty() ? "not a RUN for its cookie" : verdict.error);
      answer(*client, c, result_code::bad_packet,
             (verdict.error.empty() ? std::string{"Bad packet: not a RUN for its cookie"}
                                    : verdict.error)
                 .c_str());
      return;
    }
    p.detach = detach;
    p.bytes = std::move(run_frame);
    if (settings.priority != 0)
      p.priority = settings.priority;
    // Its sender checked the range (an actor of this process, or the cluster face).
    if (settings.retries >= 0)
      p.retries = std::min<std::int32_t>(settings.retries, max_retries_on_worker_loss);
    on_run(p);
  }

  void on_run(routed_packet& p) {
    const auto& c = p.id;
    auto [client_id, client] = sender_as(peer_role::client, "RUN");
    if (client == nullptr)
      return;
    ++traffic.runs_received;
    // Its node counted a slot taken for this RUN, whatever the answer (which gives it back).
    if (client->role == peer_role::link_client)
      client->offer.take(p.pipeline);
    if (shutting_down) {
      answer(*client, c, result_code::broker_went_away, broker_went_away_text);
      return;
    }
    if (draining) {
      answer(*client, c, result_code::no_capacity, draining_text);
      return;
    }
    if (routes.count(c) > 0) {
      switchboard_log().debug("switchboard: {} from {} collides", cookie_text{c},
                              peer_text{peer_role::client, client_id});
      answer(*client, c, result_code::cookie_collision, "Already in use");
      return;
    }
    // A cluster link carries the RUNs of many clients of another node, which limits them there.
    if (client->role == peer_role::client && cfg.max_runs_per_client > 0 &&
        client->routes.size() >= cfg.max_runs_per_client) {
      switchboard_log().debug("switchboard: {} from {}: over max-runs-per-client", cookie_text{c},
                              peer_text{peer_role::client, client_id});
      answer(*client, c, result_code::no_capacity, too_many_runs_text.c_str());
      return;
    }
    if (client->host_load != nullptr && cfg.max_runs_per_address > 0 &&
        client->host_load->routes >= cfg.max_runs_per_address) {
      switchboard_log().debug("switchboard: {} from {}: over max-runs-per-address", cookie_text{c},
                              peer_text{peer_role::client, client_id});
      answer(*client, c, result_code::no_capacity, too_many_host_runs_text.c_str());
      return;
    }
    if (client->role == peer_role::link_client)
      ++cluster_runs_received;
    // With a journal, a detached RUN is written first; it runs (or waits) once it is.
    if (p.detach && journaling() && client->role == peer_role::client) {
      if (!journal_room(*client, c))
        return;
      auto& r = open_route(client_id, *client, p);
      r.run_frame = p.bytes.compacted();
      if (r.pipeline.empty())
        r.pipeline = pipeline_of(p);
      r.awaiting_commit = true;
      journal_add(c, r, p.retries);
      journal_awaiting.emplace_back(c, r.generation);
      return;
    }
    auto worker_id = take_slot(client->role, p.pipeline);
    if (worker_id == 0) {
      if (client->role == peer_role::client && queue.size() < cfg.queue_limit) {
        if (journaling() && !journal_room(*client, c))
          return;
        enqueue(client_id, *client, p);
        return;
      }
      switchboard_log().debug("switchboard: {} from {}: no capacity", cookie_text{c},
                              peer_text{peer_role::client, client_id});
      // While every worker serves every pipeline, the original's text.
      if (restricted_workers == 0)
        answer(*client, c, result_code::no_capacity, "No capacity available");
      else
        answer(*client, c, result_code::no_capacity,
               fmt::format("No capacity available for pipeline '{}'", p.pipeline).c_str());
      return;
    }
    start_running(c, open_route(client_id, *client, p), p.bytes, worker_id);
  }

  /// A worker's PROGRESS: goes to the route's client only if its RUN asked for it; never frees
  /// the slot nor ends the route.
  void on_progress(const cookie& c, frame& progress_frame) {
    auto [worker_id, worker, it] = own_route(c, "PROGRESS");
    if (worker == nullptr)
      return;
    auto& r = it->second;
    if (!r.progress || r.detach || r.answered)
      return;
    if (auto* client = find_peer(r.client); client != nullptr)
      forward(*client, std::move(progress_frame));
  }

  void on_cancel(const cookie& c, frame& cancel_frame) {
    auto [client_id, client] = sender_as(peer_role::client, "CANCEL");
    if (client == nullptr)
      return;
    auto it = routes.find(c);
    if (it == routes.end() || it->second.answered ||
        (it->second.client != client_id && !may_cancel_by_cookie(*client, it->second.client))) {
      answer(*client, c, result_code::cookie_not_found, "No such cookie");
      return;
    }
    auto& r = it->second;
    auto owner_id = r.client;
    auto* owner = find_peer(owner_id);
    // The owner hears how its run ended; a canceller on another connection hears that its
    // CANCEL was taken, as the one packet its request gets.
    if (owner_id != client_id)
      answer(*client, c, result_code::ok, cancel_taken_text);
    if (r.worker == 0) {
      switchboard_log().debug("switchboard: queued {} cancelled", cookie_text{c});
      queue.remove(owner_id, c, r.priority);
      if (owner != nullptr)
        untrack_client(*owner, c);
      auto detach = r.detach;
      drop_route(it);
      if (!detach && owner != nullptr)
        answer(*owner, c, result_code::exception, cancelled_text);
      return;
    }
    if (r.cancel_sent) {
      // The worker has its CANCEL; more of them would only load it (and a shared worker's other
      // tasks with it). The client hears when the task ends, as for the first.
      ++traffic.cancels_dropped;
      switchboard_log().debug("switchboard: repeated cancel of {} dropped", cookie_text{c});
      return;
    }
    switchboard_log().debug("switchboard: cancel of {} goes to {}", cookie_text{c},
                            peer_text{peer_role::worker, r.worker});
    forward(peers.at(r.worker), std::move(cancel_frame));
    r.cancel_sent = true;
    self->delayed_send(self, cfg.cancel_grace, grace_atom::value, c, r.generation);
  }

  /// Whether `sender` may cancel a run of the client `owner_id` it is not: both must be clients
  /// whose requests each come on a connection of their own.
  bool may_cancel_by_cookie(const peer_entry& sender, peer_id owner_id) {
    auto* owner = find_peer(owner_id);
    return sender.cancels_by_cookie && owner != nullptr && owner->cancels_by_cookie;
  }

  void on_register(std::uint32_t capacity,
                   std::optional<std::vector<std::string>> pipelines = std::nullopt) {
    auto [worker_id, worker] = sender_as(peer_role::worker, "REGISTER");
    if (worker == nullptr)
      return;
    if (worker->role != peer_role::worker) {
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped REGISTER from a link worker");
      return;
    }
    if (shutting_down) {
      switchboard_log().warn("switchboard: ignored REGISTER of {} during shutdown",
                             peer_text{peer_role::worker, worker_id});
      return;
    }
    if (cfg.max_worker_capacity > 0 && worker->registered + capacity > cfg.max_worker_capacity) {
      auto n = ++traffic.registers_refused;
      if (logging::worth_logging(n))
        switchboard_log().warn("switchboard: REGISTER of {} slot(s) from {} refused: it would "
                               "have {} in all, over max-worker-capacity {} [{} refused so far]",
                               capacity, peer_text{peer_role::worker, worker_id},
                               worker->registered + capacity, cfg.max_worker_capacity, n);
      ++traffic.broker_results[static_cast<std::size_t>(result_code::bad_packet)];
      deliver(*worker, protocol::make_broker_result(
                           std::nullopt, result_code::bad_packet,
                           fmt::format("Capacity over max-worker-capacity {}: "
                                       "this connection would have {} slots",
                                       cfg.max_worker_capacity, worker->registered + capacity)));
      return;
    }
    set_pipelines(*worker, std::move(pipelines));
    worker->registered += capacity;
    local_slots.add(worker_id, capacity);
    switchboard_log().info("switchboard: {} registered {} slot(s), {} in all; {} of {} slots free",
                           peer_text{peer_role::worker, worker_id}, capacity, worker->registered,
                           local_slots.count(), registered_total());
    dispatch_queued();
  }

  /// Sets the pipelines a worker serves, as its latest REGISTER says (absent: every one).
  void set_pipelines(peer_entry& worker, std::optional<std::vector<std::string>> pipelines) {
    if (worker.pipelines)
      --restricted_workers;
    worker.pipelines = std::move(pipelines);
    if (!worker.pipelines)
      return;
    ++restricted_workers;
    std::sort(worker.pipelines->begin(), worker.pipelines->end());
  }

  /// The sending worker and its route `c`. A packet (`what`) for an unknown cookie or for
  /// another worker's route is logged and counted (`results_dropped`) and gives a null worker, as
  /// does a sender that is not a worker.
  std::tuple<peer_id, peer_entry*, std::unordered_map<cookie, route>::iterator>
  own_route(const cookie& c, const char* what) {
    auto [worker_id, worker] = sender_as(peer_role::worker, what);
    if (worker == nullptr)
      return {0, nullptr, routes.end()};
    auto it = routes.find(c);
    if (it == routes.end() || it->second.worker != worker_id) {
      ++results_dropped;
      // After a shutdown every route is gone, and workers answering their last tasks is expected.
      switchboard_log().log(shutting_down ? spdlog::level::debug : spdlog::level::warn,
                            "switchboard: dropped {} from {} for {}: {}", what,
                            peer_text{peer_role::worker, worker_id}, cookie_text{c},
                            it == routes.end() ? "no such route"
                                               : "the route is not this worker's");
      return {worker_id, nullptr, routes.end()};
    }
    return {worker_id, worker, it};
  }

  void on_result(const cookie& c, frame& result_frame, std::optional<result_code> rc) {
    auto [worker_id, worker, it] = own_route(c, "RESULT");
    if (worker == nullptr)
      return;
    untrack(worker->routes, c);
    give_back_slot(worker_id, *worker);
    // The other node lost its worker: the task runs again as if this node had lost it (else
    // the client gets the other node's answer).
    if (worker->role == peer_role::link_worker && rc == result_code::worker_went_away &&
        may_run_again(it->second) && run_again(c, it->second)) {
      switchboard_log().debug("switchboard: {} runs again: the worker behind {} went away",
                              cookie_text{c}, peer_text{peer_role::link_worker, worker_id});
      dispatch_queued();
      return;
    }
    auto r = std::move(it->second);
    drop_route(it);
    ++traffic.worker_results[rc ? static_cast<std::size_t>(*rc) : result_code_count];
    traffic.run_latency.observe(now() - r.started);
    auto* client = find_peer(r.client);
    if (client != nullptr) {
      untrack_client(*client, c);
      if (!r.detach && !r.answered) {
        ++results_forwarded;
        count_result(*client);
        if (r.report_attempts)
          result_frame = protocol::append_integer_field(result_frame, "attempts", r.attempts);
        forward(*client, std::move(result_frame));
      }
    }
    switchboard_log().debug("switchboard: {} done on {}{}", cookie_text{c},
                            peer_text{peer_role::worker, worker_id},
                            client == nullptr ? " (client gone)"
                            : r.answered      ? " (client already answered)"
                                              : "");
    dispatch_queued();
  }

  /// Whether a route whose worker went away may run again: retries left, its client there and
  /// waiting, no CANCEL sent.
  bool may_run_again(const route& r) {
    // A journaled run of no client (from before a restart, or whose client left) waits for no
    // one, but still runs.
    return r.retries_left > 0 && !r.cancel_sent && !r.answered &&
           (find_peer(r.client) != nullptr || (r.client == 0 && r.journaled));
  }

  /// Frees the slot a finished task held. A link's slot is offered again at once only while its
  /// node serves every pipeline everywhere; else its next offer says what is free.
  void give_back_slot(peer_id worker_id, peer_entry& worker) {
    pool_of(worker).add(worker_id, 1);
    if (worker.role == peer_role::link_worker) {
      ++worker.offer.total;
      worker.offer.give_back();
    }
  }

  /// Gives the route a deadline: the shorter of the RUN's `timeout` and max-task-duration, when
  /// either is set.
  void set_deadline(const cookie& c, route& r, std::uint32_t timeout_ms) {
    caf::timespan limit = cfg.max_task_duration;
    if (timeout_ms > 0) {
      caf::timespan asked = std::chrono::milliseconds{timeout_ms};
      if (limit.count() == 0 || asked < limit)
        limit = asked;
    }
    if (limit.count() == 0)
      return;
    auto due = r.started + std::chrono::duration_cast<clock_type::duration>(limit);
    if (spare_deadlines.empty()) {
      r.deadline = deadlines.emplace(due, c);
    } else {
      auto node = std::move(spare_deadlines.back());
      spare_deadlines.pop_back();
      node.key() = due;
      node.mapped() = c;
      r.deadline = deadlines.insert(std::move(node));
    }
    r.has_deadline = true;
    arm_deadline_timer();
  }

  void clear_deadline(route& r) {
    if (!r.has_deadline)
      return;
    r.has_deadline = false;
    auto node = deadlines.extract(r.deadline);
    if (spare_deadlines.size() < spare_limit)
      spare_deadlines.push_back(std::move(node));
  }

  /// Makes sure a timer wakes the Switchboard by the earliest deadline. (A timer that fires early
  /// or for a deadline already cleared finds nothing due and re-arms.)
  void arm_deadline_timer() {
    if (deadlines.empty())
      return;
    auto earliest = deadlines.begin()->first;
    if (deadline_timer_armed && deadline_timer_at <= earliest)
      return;
    deadline_timer_armed = true;
    deadline_timer_at = earliest;
    auto wait = std::max(earliest - now(), clock_type::duration::zero());
    self->delayed_send(self, wait, deadline_atom::value);
  }

  void on_deadline_timer() {
    if (self->current_sender() != self->ctrl()) {
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped a deadline message that it did not send itself");
      return;
    }
    deadline_timer_armed = false;
    auto due_by = now();
    while (!deadlines.empty() && deadlines.begin()->first <= due_by) {
      auto c = deadlines.begin()->second;
      auto it = routes.find(c);
      if (it == routes.end()) { // cannot happen: a route clears its deadline as it ends
        deadlines.erase(deadlines.begin());
        continue;
      }
      clear_deadline(it->second);
      time_out(it);
    }
    arm_deadline_timer();
  }

  /// Ends the client's wait for a task whose deadline passed.
  void time_out(std::unordered_map<cookie, route>::iterator it) {
    auto& r = it->second;
    auto c = it->first;
    if (r.answered)
      return; // the cancel grace answered it already
    ++traffic.tasks_timed_out;
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now() - r.started);
    auto text = fmt::format("Timed out: no RESULT within {} ms", waited.count());
    auto* client = find_peer(r.client);
    if (r.worker == 0) {
      // Still queued: it never reached a worker, so the route ends here.
      switchboard_log().debug("switchboard: queued {} timed out", cookie_text{c});
      auto detach = r.detach;
      queue.remove(r.client, c, r.priority);
      if (client != nullptr)
        untrack_client(*client, c);
      drop_route(it);
      if (client != nullptr && !detach)
        answer(*client, c, result_code::exception, text.c_str());
      return;
    }
    // Running: the client is answered now; the slot stays busy until the worker answers or goes,
    // as after a cancel grace (only the worker knows when it is free).
    r.answered = true;
    switchboard_log().debug("switchboard: {} on {} timed out", cookie_text{c},
                            peer_text{peer_role::worker, r.worker});
    if (client != nullptr && !r.detach)
      answer(*client, c, result_code::exception, text.c_str());
  }

  void on_grace(const cookie& c, std::uint64_t generation) {
    if (self->current_sender() != self->ctrl()) {
      ++messages_rejected;
      switchboard_log().warn("switchboard: dropped a grace message that it did not send itself");
      return;
    }
    auto it = routes.find(c);
    if (it == routes.end() || it->second.generation != generation || it->second.answered)
      return;
    auto& r = it->second;
    r.answered = true;
    switchboard_log().debug("switchboard: {} not answered within the cancel grace", cookie_text{c});
    if (auto* client = find_peer(r.client); client != nullptr && !r.detach)
      answer(*client, c, result_code::exception, cancelled_text);
  }

  void on_down(const caf::down_msg& msg) {
    auto it = peer_by_addr.find(msg.source);
    if (it == peer_by_addr.end())
      return;
    auto id = it->second;
    peer_by_addr.erase(it);
    auto peer = std::move(peers.at(id));
    peers.erase(id);
    if (is_worker_side(peer.role))
      worker_gone(id, peer);
    else
      client_gone(id, peer);
  }

  void worker_gone(peer_id id, peer_entry& worker) {
    // Its free slots go first: a task that runs again must not land on them.
    pool_of(worker).remove(id);
    if (worker.pipelines)
      --restricted_workers;
    std::uint64_t notified = 0;
    std::uint64_t again = 0;
    for (auto& c : worker.routes) {
      auto it = routes.find(c);
      if (it == routes.end())
        continue;
      auto& r = it->second;
      auto* client = find_peer(r.client);
      // Never after a CANCEL (the client wants it stopped) or once the client was answered.
      if (may_run_again(r) && run_again(c, r)) {
        ++again;
        continue;
      }
      if (client != nullptr) {
        untrack_client(*client, c);
        if (!r.detach && !r.answered) {
          ++notified;
          answer(*client, c, result_code::worker_went_away, worker_went_away_text);
        }
      }
      drop_route(it);
    }
    switchboard_log().info(
        "switchboard: {} went away with {} slot(s) and {} running task(s) ({} client(s) "
        "told, {} to run again); {} of {} slots free",
        peer_text{worker.role, id}, worker.registered, worker.routes.size(), notified, again,
        local_slots.count(), registered_total());
  }

  void client_gone(peer_id id, peer_entry& client) {
    if (client.role == peer_role::link_client)
      --link_clients;
    if (client.host_load != nullptr) {
      client.host_load->routes -= client.routes.size();
      if (--client.host_load->clients == 0)
        hosts.erase(client.host);
    }
    auto dropped = queue.remove_client(id);
    std::uint64_t kept = 0;
    for (auto& c : dropped) {
      auto it = routes.find(c);
      if (it == routes.end())
        continue;
      // A journaled detached RUN outlives its client, as it would a restart.
      if (it->second.journaled && it->second.detach) {
        it->second.client = 0;
        queue.push(0, c, it->second.priority);
        ++kept;
        continue;
      }
      drop_route(it);
    }
    if (kept > 0)
      dropped.erase(std::remove_if(dropped.begin(), dropped.end(),
                                   [&](const cookie& c) {
                                     auto it = routes.find(c);
                                     return it != routes.end() && it->second.client == 0;
                                   }),
                    dropped.end());
    std::uint64_t orphans = 0;
    std::uint64_t cancelled = 0;
    for (auto& c : client.routes) {
      auto it = routes.find(c);
      if (it == routes.end())
        continue; // was queued, dropped above
      auto& r = it->second;
      if (r.awaiting_commit) {
        r.client = 0; // runs once written, for no one
        continue;
      }
      if (r.client == 0)
        continue; // kept in the queue above
      ++orphans;
      // A detached task was meant to outlive its client's interest; cancelling it would defeat
      // detach. A task that already had a CANCEL needs no second one.
      if (cfg.cancel_orphans && !r.detach && !r.cancel_sent && !r.answered) {
        r.cancel_sent = true;
        ++cancelled;
        deliver(peers.at(r.worker), protocol::make_cancel(c));
      }
    }
    // An HTTP request ends as its client goes away: only one that leaves work behind is news.
    auto level = client.cancels_by_cookie && dropped.empty() && orphans == 0 ? spdlog::level::debug
                                                                             : spdlog::level::info;
    switchboard_log().log(level,
                          "switchboard: {} went away; {} queued RUN(s) dropped, {} running task(s) "
                          "orphaned, {} cancelled",
                          peer_text{client.role, id}, dropped.size(), orphans, cancelled);
  }

  switchboard_status status() const {
    switchboard_status s;
    for (auto& [id, peer] : peers) {
      if (peer.role == peer_role::client)
        ++s.clients;
      else if (peer.role == peer_role::worker)
        ++s.workers;
      else if (peer.role == peer_role::link_worker)
        ++s.cluster_links;
    }
    s.registered_slots = registered_total();
    s.free_slots = local_slots.count();
    s.cluster_free_slots = remote_slots.count();
    s.cluster_runs_sent = cluster_runs_sent;
    s.cluster_runs_received = cluster_runs_received;
    s.routes = routes.size();
    s.queued = queue.size();
    s.runs_accepted = runs_accepted;
    s.results_forwarded = results_forwarded;
    s.results_dropped = results_dropped;
    s.messages_rejected = messages_rejected;
    s.journaled = journal_rows;
    return s;
  }

  /// The status, the traffic counters and every peer's load, for the admin endpoint.
  switchboard_snapshot snapshot() const {
    auto st = status();
    switchboard_snapshot s{st.clients,
                           st.workers,
                           st.registered_slots,
                           st.free_slots,
                           st.routes,
                           st.queued,
                           st.runs_accepted,
                           st.results_forwarded,
                           st.results_dropped,
                           st.messages_rejected,
                           st.cluster_links,
                           st.cluster_free_slots,
                           st.cluster_runs_sent,
                           st.cluster_runs_received,
                           traffic,
                           {},
                           {},
                           {},
                           {}};
    for (auto& [transport, count] : results_by_transport)
      s.results_by_transport.push_back({transport, count});
    s.journal_enabled = journaling();
    s.journaled = journal_rows;
    for (auto& [id, peer] : peers) {
      peer_load load{peer.handle.id(), peer.registered, peer.routes.size(), peer.tasks};
      if (peer.role == peer_role::worker) {
        s.worker_peers.push_back(load);
      } else if (peer.role == peer_role::link_worker) {
        load.capacity = remote_slots.count_of(id);
        s.cluster_link_loads.push_back(load);
      } else {
        s.client_peers.push_back(load);
      }
    }
    return s;
  }

  std::uint64_t registered_total() const {
    std::uint64_t total = 0;
    for (auto& [id, peer] : peers)
      total += peer.registered;
    return total;
  }

  void shutdown() {
    shutting_down = true;
    std::uint64_t told = 0;
    for (auto& [id, peer] : peers) {
      // Links get it as workers do; they drop it: the other node learns from the link going down.
      if (is_worker_side(peer.role)) {
        deliver(peer, protocol::make_shutdown());
        peer.registered = 0;
      } else if (peer.role == peer_role::client) {
        for (auto& c : peer.routes) {
          auto& r = routes.at(c);
          if (!r.detach && !r.answered) {
            ++told;
            answer(peer, c, result_code::broker_went_away, broker_went_away_text);
          }
          // Its client is told; a detached run stays in the journal for the next start.
          if (r.journaled && !r.detach)
            journal_remove(c);
        }
        if (peer.host_load != nullptr)
          peer.host_load->routes = 0;
      }
      peer.routes.clear();
    }
    switchboard_log().info(
        "switchboard: shutting down; {} worker(s) told, {} open task(s) answered",
        std::count_if(peers.begin(), peers.end(),
                      [](auto& p) { return is_worker_side(p.second.role); }),
        told);
    // Sent now, before `done`: the node asks the journal to finish only after that.
    if (journaling())
      send_journal_batch();
    routes.clear();
    deadlines.clear();
    local_slots.clear();
    remote_slots.clear();
    queue.clear();
  }
};

switchboard_actor::behavior_type switchboard(switchboard_pointer self, switchboard_config cfg) {
  self->state.cfg = cfg;
  self->state.too_many_runs_text =
      "Too many runs in flight on this connection (max-runs-per-client " +
      std::to_string(cfg.max_runs_per_client) + ")";
  self->state.too_many_host_runs_text =
      "Too many runs in flight from this address (max-runs-per-address " +
      std::to_string(cfg.max_runs_per_address) + ")";
  self->state.journal_full_text =
      "The journal is full (journal-max-runs " + std::to_string(cfg.journal_max_runs) +
      "): this node takes no more detached or queued RUNs until some finish";
  self->set_down_handler([self](caf::down_msg& msg) {
    self->state.on_down(msg);
    self->state.note_capacity_change();
  });
  return {
      [self](join_atom, peer_role role) { self->state.on_join(role); },
      [self](join_atom, peer_role role, std::string& host) {
        self->state.on_join(role, std::move(host));
      },
      [self](join_atom, peer_role role, std::string& host, bool cancels_by_cookie,
             std::string& transport) {
        self->state.on_join(role, std::move(host), cancels_by_cookie, std::move(transport));
      },
      [self](run_atom, const cookie& c, bool detach, frame& run_frame) {
        self->state.on_run(c, detach, run_frame);
        self->state.note_capacity_change();
      },
      [self](run_atom, const cookie& c, bool detach, frame& run_frame,
             const run_settings& settings) {
        self->state.on_run(c, detach, run_frame, settings);
        self->state.note_capacity_change();
      },
      [self](cancel_atom, const cookie& c, frame& cancel_frame) {
        self->state.on_cancel(c, cancel_frame);
      },
      [self](register_atom, std::uint32_t capacity) {
        self->state.on_register(capacity);
        self->state.note_capacity_change();
      },
      // The token was checked by the cluster face, or the worker is an actor of this process.
      [self](register_atom, std::uint32_t capacity, const std::string&) {
        self->state.on_register(capacity);
        self->state.note_capacity_change();
      },
      [self](register_atom, std::uint32_t capacity, std::vector<std::string>& pipelines) {
        self->state.on_register(capacity, std::move(pipelines));
        self->state.note_capacity_change();
      },
      // As above: the token was checked by the cluster face, or the worker is in this process.
      [self](register_atom, std::uint32_t capacity, const std::string&,
             std::vector<std::string>& pipelines) {
        self->state.on_register(capacity, std::move(pipelines));
        self->state.note_capacity_change();
      },
      [self](result_atom, const cookie& c, frame& result_frame) {
        // Senders that did not read the rc (actor workers, tests): read it here.
        self->state.on_result(c, result_frame, protocol::read_packet(result_frame).fields.rc);
        self->state.note_capacity_change();
      },
      [self](result_atom, const cookie& c, result_code rc, frame& result_frame) {
        self->state.on_result(c, result_frame, rc);
        self->state.note_capacity_change();
      },
      [self](packets_atom, std::vector<routed_packet>& batch) {
        self->state.on_packets(batch);
        self->state.note_capacity_change();
      },
      [self](grace_atom, const cookie& c, std::uint64_t generation) {
        self->state.on_grace(c, generation);
      },
      [self](deadline_atom) { self->state.on_deadline_timer(); },
      [self](capacity_atom, slot_offer& offer) { self->state.on_capacity(offer); },
      [self](flush_atom) { self->state.on_flush(); },
      [self](tick_atom) { self->state.on_refresh(); },
      [self](journal_atom) { self->state.on_journal_flush(); },
      [self](replay_atom, std::vector<journal::journal_entry>& entries) {
        self->state.on_replay(entries);
        self->state.note_capacity_change();
      },
      [self](status_atom) { return self->state.status(); },
      [self](metrics_atom) { return self->state.snapshot(); },
      [self](drain_atom) {
        auto rp = self->make_response_promise<done_atom>();
        self->state.drain(rp);
        return rp;
      },
      [self](shutdown_atom) {
        // Every deliver above is enqueued before this reply: the Broker closes the connections
        // only after it has the reply, so no RESULT or SHUTDOWN is lost.
        self->state.shutdown();
        return done_atom::value;
      },
  };
}

} // namespace

switchboard_actor spawn_switchboard(caf::actor_system& sys, const switchboard_config& cfg) {
  return sys.spawn(switchboard, cfg);
}

} // namespace rcbroker::actors

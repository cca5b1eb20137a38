#include "rcbroker/actors/broker.hpp"

#include "rcbroker/actors/connection.hpp"
#include "rcbroker/actors/frame_reader.hpp"
#include "rcbroker/actors/packet_check.hpp"
#include "rcbroker/cluster/clustering.hpp"
#include "rcbroker/logging/component.hpp"

#include <algorithm>
#include <array>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <map>
#include <spdlog/spdlog.h>
#include <unordered_map>

namespace rcbroker::actors {

namespace {

/// This file's logger: its level is the `broker` entry of `log-levels`.
spdlog::logger& broker_log() {
  return logging::logger(logging::component::broker);
}

struct connection_entry {
  peer_role role;
  connection_actor handle;
  std::string name;
  std::string transport;
  transport::channel_ptr channel; // for what crossed it, and why it ended
  std::string endpoint;
  std::int64_t since_unix_ms = 0;
};

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// The peer's address in a channel's name ("tcp 127.0.0.1:40122" → "127.0.0.1:40122"; "" for a
/// Unix socket's "unix").
std::string remote_of(const std::string& channel_name) {
  auto space = channel_name.find(' ');
  return space == std::string::npos ? std::string{} : channel_name.substr(space + 1);
}

struct broker_state {
  broker_config cfg;
  switchboard_actor switchboard;
  frame_reader_actor reader;
  std::unordered_map<caf::actor_addr, connection_entry> connections;
  std::uint64_t next_id = 1;
  std::uint64_t clients = 0;
  std::uint64_t workers = 0;
  bool shutting_down = false;
  bool draining = false; // /healthz says 503 from the start of a drain
  std::vector<caf::typed_response_promise<done_atom>> shutdown_waiters;
  // For the admin endpoint's snapshot.
  std::uint64_t clients_accepted = 0;
  std::uint64_t workers_accepted = 0;
  std::uint64_t clients_refused = 0;
  std::uint64_t workers_refused = 0;
  /// Open and accepted connections by transport.
  std::map<std::string, transport_load> transports;
  /// Socket connections that ended, by cause.
  std::array<std::uint64_t, transport::close_cause_count> closed{};
  /// Packets the connections refused, by reason: they count, the snapshot reads.
  std::shared_ptr<packet_refusals> refused_packets = std::make_shared<packet_refusals>();
  // Refusals are logged at most once a second, with how many the line stands for.
  std::chrono::steady_clock::time_point last_refusal_logged{};
  std::uint64_t refusals_not_logged = 0;
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  static inline const char* name = "broker";
};

using broker_pointer = broker_actor::stateful_pointer<broker_state>;

broker_snapshot snapshot_of(const broker_state& st) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  broker_snapshot b;
  b.accepting = !st.shutting_down;
  b.started_unix_ms = unix_ms(st.started_at);
  b.uptime_ms = duration_cast<milliseconds>(std::chrono::steady_clock::now() - st.started).count();
  b.client_connections = st.clients;
  b.worker_connections = st.workers;
  b.clients_accepted = st.clients_accepted;
  b.workers_accepted = st.workers_accepted;
  b.clients_refused = st.clients_refused;
  b.workers_refused = st.workers_refused;
  for (auto& l : st.cfg.client_listeners)
    b.client_endpoints.push_back(l->bound_url());
  for (auto& l : st.cfg.worker_listeners)
    b.worker_endpoints.push_back(l->bound_url());
  for (auto& [name, load] : st.transports)
    b.transports.push_back(load);
  for (auto& [addr, entry] : st.connections) {
    connection_info c;
    c.actor_id = entry.handle.id();
    c.worker = entry.role == peer_role::worker;
    c.name = entry.name;
    c.transport = entry.transport;
    c.endpoint = entry.endpoint;
    c.remote = remote_of(entry.channel->name());
    c.since_unix_ms = entry.since_unix_ms;
    if (auto t = entry.channel->traffic()) {
      c.counted = true;
      c.bytes_in = t->bytes_in;
      c.bytes_out = t->bytes_out;
      c.queued_bytes = t->queued_bytes;
    }
    b.connections.push_back(std::move(c));
  }
  b.closed_by_cause.assign(st.closed.begin(), st.closed.end());
  b.packets_refused = st.refused_packets->values();
  for (auto* list : {&st.cfg.client_listeners, &st.cfg.worker_listeners})
    for (auto& l : *list) {
      if (auto failures = l->handshake_failures())
        b.tls_handshake_failures.push_back({l->bound_url(), *failures});
      if (auto refusals = l->http_refusals(); !refusals.empty())
        b.http_refusals.push_back({l->bound_url(), std::move(refusals)});
    }
  // Actor ids grow with each spawn: by id is oldest first.
  std::sort(b.connections.begin(), b.connections.end(),
            [](auto& x, auto& y) { return x.actor_id < y.actor_id; });
  return b;
}

/// Closes a socket over the connection limit of its kind. The peer has sent nothing yet, so no
/// packet can tell it why: the log and the counters do.
void refuse(broker_pointer self, peer_role role, const transport::channel_ptr& stream,
            std::size_t limit) {
  auto& st = self->state;
  ++(role == peer_role::client ? st.clients_refused : st.workers_refused);
  ++st.refusals_not_logged;
  stream->close("over max-" + std::string{role_name(role)} + "-connections");
  auto now = std::chrono::steady_clock::now();
  if (now - st.last_refusal_logged < std::chrono::seconds{1})
    return;
  broker_log().warn("refused a {} connection ({}): max-{}-connections {} reached [{} refused "
                    "since the last such line]",
                    role_name(role), stream->name(), role_name(role), limit,
                    st.refusals_not_logged);
  st.last_refusal_logged = now;
  st.refusals_not_logged = 0;
}

void finish_shutdown_if_done(broker_pointer self) {
  auto& st = self->state;
  if (!st.shutting_down || !st.connections.empty() || st.shutdown_waiters.empty())
    return;
  broker_log().info("all connections closed");
  for (auto& rp : st.shutdown_waiters)
    rp.deliver(done_atom::value);
  st.shutdown_waiters.clear();
}

void close_connections(broker_pointer self) {
  for (auto& [addr, entry] : self->state.connections)
    self->send(entry.handle, close_atom::value);
  finish_shutdown_if_done(self);
}

void start_listeners(broker_pointer self) {
  auto start = [self](std::vector<std::shared_ptr<transport::listener>>& listeners,
                      peer_role role) {
    auto handle = caf::actor_cast<broker_actor>(self);
    for (auto& l : listeners) {
      broker_log().info("listening for {}s on {}", role_name(role), l->bound_url());
      l->start([handle, role, url = l->bound_url()](transport::channel_ptr s) {
        caf::anon_send(handle, accept_atom::value, role, std::move(s), url);
      });
    }
  };
  start(self->state.cfg.client_listeners, peer_role::client);
  start(self->state.cfg.worker_listeners, peer_role::worker);
}

void stop_listeners(broker_pointer self) {
  for (auto* list : {&self->state.cfg.client_listeners, &self->state.cfg.worker_listeners})
    for (auto& l : *list)
      l->stop();
}

broker_actor::behavior_type broker(broker_pointer self, broker_config cfg, switchboard_actor sb) {
  self->state.cfg = std::move(cfg);
  self->state.switchboard = sb;
  // One thread reads the large frames of every connection; it ends with the Broker.
  self->state.reader = spawn_frame_reader(self->system());
  self->link_to(self->state.reader);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.connections.find(msg.source);
    if (i == st.connections.end())
      return;
    (i->second.role == peer_role::client ? st.clients : st.workers) -= 1;
    st.transports[i->second.transport].open -= 1;
    if (auto cause = i->second.channel->cause())
      ++st.closed[static_cast<std::size_t>(*cause)];
    broker_log().debug("{} ended ({} clients, {} workers)", i->second.name, st.clients, st.workers);
    st.connections.erase(i);
    finish_shutdown_if_done(self);
  });
  start_listeners(self);
  if (self->state.cfg.status_interval.count() > 0)
    self->delayed_send(self, self->state.cfg.status_interval, tick_atom::value);
  return {
      [self](accept_atom, peer_role role, transport::channel_ptr& stream, std::string& endpoint) {
        auto& st = self->state;
        if (st.shutting_down) {
          stream->close("the broker is shutting down");
          return;
        }
        auto limit = role == peer_role::client ? st.cfg.max_client_connections
                                               : st.cfg.max_worker_connections;
        if (limit > 0 && (role == peer_role::client ? st.clients : st.workers) >= limit) {
          refuse(self, role, stream, limit);
          return;
        }
        auto name = fmt::format("{}#{} ({})", role_name(role), st.next_id++, stream->name());
        (role == peer_role::client ? st.clients : st.workers) += 1;
        (role == peer_role::client ? st.clients_accepted : st.workers_accepted) += 1;
        // An HTTP request is a connection of its own: one a task must not take a line at info.
        broker_log().log(stream->one_request() ? spdlog::level::debug : spdlog::level::info,
                         "{} connected ({} clients, {} workers)", name, st.clients, st.workers);
        auto conn = spawn_connection(self->system(), role, stream, st.switchboard, name,
                                     role == peer_role::worker ? st.cfg.worker_token : "",
                                     st.reader, st.refused_packets);
        self->monitor(conn);
        auto transport = stream->transport();
        auto& load = st.transports[transport];
        load.transport = transport;
        ++load.open;
        ++load.accepted;
        st.connections.emplace(conn.address(),
                               connection_entry{role, conn, std::move(name), std::move(transport),
                                                stream, std::move(endpoint),
                                                unix_ms(std::chrono::system_clock::now())});
      },
      [self](tick_atom) {
        auto& st = self->state;
        if (st.shutting_down)
          return;
        self->request(st.switchboard, std::chrono::seconds{5}, status_atom::value)
            .then(
                [self](const switchboard_status& s) {
                  broker_log().info(
                      "status: {} clients, {} workers, {}/{} slots free, {} routes, {} queued, "
                      "{} runs accepted, {} results dropped",
                      self->state.clients, self->state.workers, s.free_slots, s.registered_slots,
                      s.routes, s.queued, s.runs_accepted, s.results_dropped);
                  if (s.cluster_links > 0 || s.cluster_runs_received > 0)
                    broker_log().info("cluster: {} peer(s) offering {} free slot(s), {} runs sent "
                                      "to peers, {} runs received from peers",
                                      s.cluster_links, s.cluster_free_slots, s.cluster_runs_sent,
                                      s.cluster_runs_received);
                },
                [](caf::error& err) {
                  broker_log().warn("status request failed: {}", caf::to_string(err));
                });
        self->delayed_send(self, st.cfg.status_interval, tick_atom::value);
      },
      [self](status_atom) { return self->delegate(self->state.switchboard, status_atom::value); },
      [self](metrics_atom) -> caf::typed_response_promise<node_snapshot> {
        auto rp = self->make_response_promise<node_snapshot>();
        self->request(self->state.switchboard, std::chrono::seconds{2}, metrics_atom::value)
            .then(
                [self, rp](switchboard_snapshot& s) mutable {
                  node_snapshot whole{snapshot_of(self->state), std::move(s), {}};
                  auto guard = cluster::cluster_guard_counts(self->system());
                  whole.cluster_connections = guard.open;
                  whole.cluster_refused_oversized = guard.oversized;
                  whole.cluster_refused_over_limit = guard.over_limit;
                  auto& membership = self->state.cfg.membership;
                  if (!membership) {
                    rp.deliver(std::move(whole));
                    return;
                  }
                  self->request(membership, std::chrono::seconds{1}, metrics_atom::value)
                      .then(
                          [rp, whole](std::vector<cluster_member>& members) mutable {
                            whole.members = std::move(members);
                            rp.deliver(std::move(whole));
                          },
                          // The node's own figures are worth more than nothing.
                          [rp, whole](caf::error&) mutable { rp.deliver(std::move(whole)); });
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](health_atom) { return !self->state.shutting_down && !self->state.draining; },
      [self](drain_atom) {
        self->state.draining = true;
        broker_log().info("draining before the stop: /healthz says 503, new RUNs are refused");
        return self->delegate(self->state.switchboard, drain_atom::value);
      },
      [self](shutdown_atom) -> caf::typed_response_promise<done_atom> {
        auto& st = self->state;
        auto rp = self->make_response_promise<done_atom>();
        st.shutdown_waiters.push_back(rp);
        if (st.shutting_down)
          return rp;
        st.shutting_down = true;
        broker_log().info("shutting down: no new connections; telling {} workers and {} clients",
                          st.workers, st.clients);
        stop_listeners(self);
        self->request(st.switchboard, st.cfg.shutdown_timeout, shutdown_atom::value)
            .then([self](done_atom) { close_connections(self); },
                  [self](caf::error& err) {
                    broker_log().warn("switchboard did not finish its shutdown: {}",
                                      caf::to_string(err));
                    close_connections(self);
                  });
        self->delayed_send(self, st.cfg.shutdown_timeout * 2, close_atom::value);
        return rp;
      },
      [self](close_atom) {
        auto& st = self->state;
        if (st.connections.empty())
          return;
        broker_log().warn("{} connections did not close in time; closing them now",
                          st.connections.size());
        for (auto& [addr, entry] : st.connections)
          self->send_exit(entry.handle, caf::exit_reason::user_shutdown);
      },
  };
}

} // namespace

broker_actor spawn_broker(caf::actor_system& sys, broker_config cfg, switchboard_actor sb) {
  return sys.spawn(broker, std::move(cfg), std::move(sb));
}

} // namespace rcbroker::actors

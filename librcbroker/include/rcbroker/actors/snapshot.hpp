#pragma once

// The detailed snapshots the admin endpoint renders (/metrics, /status): what the Switchboard
// and the Broker answer to `metrics_atom`, taken from their own state at one instant. Included
// by messages.hpp, which adds the requests to the typed interfaces.

#include "rcbroker/protocol/packet.hpp"

#include <array>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rcbroker::actors {

using metrics_atom = caf::atom_constant<caf::atom("metrics")>; ///< ask for a detailed snapshot
using health_atom = caf::atom_constant<caf::atom("health")>;   ///< ask whether the node accepts

/// Number of `protocol::result_code` values.
inline constexpr std::size_t result_code_count =
    static_cast<std::size_t>(protocol::result_code::exception) + 1;

/// Upper bounds, in nanoseconds, of the RUN→RESULT latency buckets (500 µs to 60 s); one more
/// bucket above the last bound takes the rest.
inline constexpr std::array<std::uint64_t, 16> latency_bounds_ns{
    500'000,       1'000'000,      2'500'000,      5'000'000,     10'000'000,    25'000'000,
    50'000'000,    100'000'000,    250'000'000,    500'000'000,   1'000'000'000, 2'500'000'000,
    5'000'000'000, 10'000'000'000, 30'000'000'000, 60'000'000'000};

/// Observations of one duration, by bucket (not cumulative: each observation counts once).
struct latency_histogram {
  /// `buckets[i]` counts observations in (bound i-1, bound i]; the last one those above all.
  std::array<std::uint64_t, latency_bounds_ns.size() + 1> buckets{};
  std::uint64_t count = 0;  ///< observations
  std::uint64_t sum_ns = 0; ///< their sum, in nanoseconds

  /// Records one duration (a few compares and three increments: fit for the hot path).
  void observe(std::chrono::steady_clock::duration d) noexcept {
    auto signed_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    auto ns = signed_ns < 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(signed_ns);
    std::size_t i = 0;
    while (i < latency_bounds_ns.size() && ns > latency_bounds_ns[i])
      ++i;
    ++buckets[i];
    ++count;
    sum_ns += ns;
  }
};

/// Serializes a histogram.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, latency_histogram& x) {
  return f(caf::meta::type_name("latency_histogram"), x.buckets, x.count, x.sum_ns);
}

/// What the Switchboard has passed on and answered since it started. Only ever incremented.
struct traffic_counters {
  /// RUNs that reached the Switchboard, whatever their answer.
  std::uint64_t runs_received = 0;
  /// Worker RESULTs that ended a route, by `rc`; the last entry counts RESULTs without an `rc`.
  std::array<std::uint64_t, result_code_count + 1> worker_results{};
  /// RESULTs the Switchboard made itself (NO_CAPACITY, COOKIE_COLLISION, ...), by `rc`.
  std::array<std::uint64_t, result_code_count> broker_results{};
  /// Client frames (RUN, CANCEL) passed on to workers, and their bytes on the wire.
  std::uint64_t frames_to_workers = 0;
  std::uint64_t bytes_to_workers = 0;
  /// Worker RESULT frames passed on to clients, and their bytes on the wire.
  std::uint64_t frames_to_clients = 0;
  std::uint64_t bytes_to_clients = 0;
  /// CANCELs not passed on because one for the same task already went to its worker.
  std::uint64_t cancels_dropped = 0;
  /// Tasks whose client got EXCEPTION because their deadline passed (RUN `timeout` or
  /// max-task-duration).
  std::uint64_t tasks_timed_out = 0;
  /// REGISTERs refused because the worker's capacity would pass max-worker-capacity.
  std::uint64_t registers_refused = 0;
  /// Time from a RUN reaching the Switchboard to the worker's RESULT for it (queueing included).
  latency_histogram run_latency;
  /// Journal (with `journal` set): runs written to it, runs it held at start and ran again, RUNs
  /// refused because it was full (journal-max-runs) or could not be written, and the time each
  /// batch's transaction took.
  std::uint64_t journal_writes = 0;
  std::uint64_t journal_replays = 0;
  std::uint64_t journal_refused_full = 0;
  std::uint64_t journal_refused_failed = 0;
  std::uint64_t journal_failed_batches = 0;
  latency_histogram journal_latency;
};

/// Serializes traffic counters.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traffic_counters& x) {
  return f(caf::meta::type_name("traffic_counters"), x.runs_received, x.worker_results,
           x.broker_results, x.frames_to_workers, x.bytes_to_workers, x.frames_to_clients,
           x.bytes_to_clients, x.cancels_dropped, x.tasks_timed_out, x.registers_refused,
           x.run_latency, x.journal_writes, x.journal_replays, x.journal_refused_full,
           x.journal_refused_failed, x.journal_failed_batches, x.journal_latency);
}

/// One peer of the Switchboard in a snapshot.
struct peer_load {
  /// The peer's actor id: the Broker names its connection by the same id.
  std::uint64_t actor_id = 0;
  /// Workers: slots registered. Cluster links: free slots the other node offers.
  std::uint64_t capacity = 0;
  /// Workers and link workers: tasks running there. Clients: open routes (queued included).
  std::uint64_t in_flight = 0;
  /// Workers and link workers: tasks given since it joined. Clients: routes opened since then.
  std::uint64_t total = 0;
};

/// Serializes a peer's load.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_load& x) {
  return f(caf::meta::type_name("peer_load"), x.actor_id, x.capacity, x.in_flight, x.total);
}

/// A count by transport.
struct transport_count {
  std::string transport; ///< "tcp", "tls", "socket", "http", "https", "grpc", …
  std::uint64_t count = 0;
};

/// Serializes a count by transport.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transport_count& x) {
  return f(caf::meta::type_name("transport_count"), x.transport, x.count);
}

/// Everything `status` says, plus the traffic counters and every peer's load.
struct switchboard_snapshot {
  /// Fields as in `switchboard_status`, copied so that this type stays apart from it.
  std::uint64_t clients = 0;
  std::uint64_t workers = 0;
  std::uint64_t registered_slots = 0;
  std::uint64_t free_slots = 0;
  std::uint64_t routes = 0;
  std::uint64_t queued = 0;
  std::uint64_t runs_accepted = 0;
  std::uint64_t results_forwarded = 0;
  std::uint64_t results_dropped = 0;
  std::uint64_t messages_rejected = 0;
  std::uint64_t cluster_links = 0;
  std::uint64_t cluster_free_slots = 0;
  std::uint64_t cluster_runs_sent = 0;
  std::uint64_t cluster_runs_received = 0;
  traffic_counters traffic;
  std::vector<peer_load> client_peers;       ///< in join order
  std::vector<peer_load> worker_peers;       ///< in join order
  std::vector<peer_load> cluster_link_loads; ///< links offering other nodes' slots here
  /// RESULTs delivered to clients by transport ("tcp", "http", …; "actor" for actor clients,
  /// "cluster" for other nodes' links), by name.
  std::vector<transport_count> results_by_transport;
  /// Whether the node keeps a journal, and the runs it holds.
  bool journal_enabled = false;
  std::uint64_t journaled = 0;
};

/// Serializes a Switchboard snapshot.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchboard_snapshot& x) {
  return f(caf::meta::type_name("switchboard_snapshot"), x.clients, x.workers, x.registered_slots,
           x.free_slots, x.routes, x.queued, x.runs_accepted, x.results_forwarded,
           x.results_dropped, x.messages_rejected, x.cluster_links, x.cluster_free_slots,
           x.cluster_runs_sent, x.cluster_runs_received, x.traffic, x.client_peers, x.worker_peers,
           x.cluster_link_loads, x.results_by_transport, x.journal_enabled, x.journaled);
}

/// One socket connection the Broker supervises.
struct connection_info {
  std::uint64_t actor_id = 0;     ///< the connection actor's id
  bool worker = false;            ///< on a worker endpoint (else a client endpoint)
  std::string name;               ///< as in the logs, e.g. "worker#2 (tcp 127.0.0.1:40122)"
  std::string transport;          ///< "tcp", "tls", "socket", "http", "grpc", …
  std::string endpoint;           ///< the endpoint it came by, as bound
  std::string remote;             ///< the peer's address, e.g. "127.0.0.1:40122" ("" for Unix)
  std::int64_t since_unix_ms = 0; ///< wall-clock time it was accepted
  bool counted = false;           ///< whether the bytes below are counted (socket transports)
  std::uint64_t bytes_in = 0;     ///< read from the peer
  std::uint64_t bytes_out = 0;    ///< written to the peer
  std::uint64_t queued_bytes = 0; ///< waiting to be written to the peer
};

/// Serializes a connection entry.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_info& x) {
  return f(caf::meta::type_name("connection_info"), x.actor_id, x.worker, x.name, x.transport,
           x.endpoint, x.remote, x.since_unix_ms, x.counted, x.bytes_in, x.bytes_out,
           x.queued_bytes);
}

/// A count that belongs to one endpoint (e.g. its failed TLS handshakes).
struct endpoint_count {
  std::string endpoint; ///< as bound
  std::uint64_t count = 0;
};

/// Serializes an endpoint's count.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint_count& x) {
  return f(caf::meta::type_name("endpoint_count"), x.endpoint, x.count);
}

/// Counts that belong to one endpoint, by reason (e.g. its HTTP refusals, by http_refusal).
struct endpoint_counts {
  std::string endpoint; ///< as bound
  std::vector<std::uint64_t> counts;
};

/// Serializes an endpoint's counts.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint_counts& x) {
  return f(caf::meta::type_name("endpoint_counts"), x.endpoint, x.counts);
}

/// The Broker's part of a snapshot: connections, endpoints, and whether it accepts.
/// The connections of one transport (tcp, tls, socket, http, https, grpc, grpcs). An HTTP request
/// is a connection of its own.
struct transport_load {
  std::string transport;      ///< the scheme of its endpoints
  std::uint64_t open = 0;     ///< open now
  std::uint64_t accepted = 0; ///< accepted since start (refused ones not counted)
};

/// Serializes a transport's load.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transport_load& x) {
  return f(caf::meta::type_name("transport_load"), x.transport, x.open, x.accepted);
}

struct broker_snapshot {
  bool accepting = true;                     ///< false once an orderly shutdown has begun
  std::int64_t started_unix_ms = 0;          ///< wall-clock time the Broker started
  std::int64_t uptime_ms = 0;                ///< time since then (monotonic)
  std::uint64_t client_connections = 0;      ///< open client sockets
  std::uint64_t worker_connections = 0;      ///< open worker sockets
  std::uint64_t clients_accepted = 0;        ///< client sockets accepted since start
  std::uint64_t workers_accepted = 0;        ///< worker sockets accepted since start
  std::uint64_t clients_refused = 0;         ///< client sockets closed over max-client-connections
  std::uint64_t workers_refused = 0;         ///< worker sockets closed over max-worker-connections
  std::vector<std::string> client_endpoints; ///< as bound
  std::vector<std::string> worker_endpoints; ///< as bound
  std::vector<connection_info> connections;  ///< open connections, oldest first
  std::vector<transport_load> transports;    ///< by transport, by name
  /// Socket connections that ended, by transport::close_cause.
  std::vector<std::uint64_t> closed_by_cause;
  /// Failed TLS handshakes, per tls:// and https:// endpoint.
  std::vector<endpoint_count> tls_handshake_failures;
  /// Packets the connections refused, by packet_refusal (packet_check.hpp).
  std::vector<std::uint64_t> packets_refused;
  /// Requests and connections refused, per http:// and https:// endpoint, by http_refusal
  /// (transport/listener.hpp).
  std::vector<endpoint_counts> http_refusals;
};

/// Serializes the Broker's part of a snapshot.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, broker_snapshot& x) {
  return f(caf::meta::type_name("broker_snapshot"), x.accepting, x.started_unix_ms, x.uptime_ms,
           x.client_connections, x.worker_connections, x.clients_accepted, x.workers_accepted,
           x.client_endpoints, x.worker_endpoints, x.connections, x.clients_refused,
           x.workers_refused, x.transports, x.closed_by_cause, x.tls_handshake_failures,
           x.packets_refused, x.http_refusals);
}

/// One member of the cluster as this node's membership actor sees it.
struct cluster_member {
  std::string name;               ///< its node-name ("" until greeted or when none is set)
  std::string address;            ///< its cluster address (as advertised, else as dialled)
  std::string state;              ///< "linked", "connecting", "greeting" or "retrying"
  std::int64_t since_unix_ms = 0; ///< wall-clock time it entered that state
  bool listed = false;            ///< named with --peer / cluster-peers (retried forever)
  std::uint64_t failures = 0;     ///< failed attempts since it was last linked
  std::uint64_t outbound_id = 0;  ///< actor id of the link's outbound half (0: none)
  std::uint64_t inbound_id = 0;   ///< actor id of the link's inbound half (0: none)
};

/// Serializes a member entry.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_member& x) {
  return f(caf::meta::type_name("cluster_member"), x.name, x.address, x.state, x.since_unix_ms,
           x.listed, x.failures, x.outbound_id, x.inbound_id);
}

/// The node's process as the operating system sees it (Prometheus' process_* series).
struct process_sample {
  double cpu_seconds = 0;           ///< user and system CPU time
  std::uint64_t resident_bytes = 0; ///< resident set size
  std::uint64_t virtual_bytes = 0;  ///< virtual memory size
  std::uint64_t open_fds = 0;       ///< open file descriptors
  std::uint64_t max_fds = 0;        ///< the soft limit on them
  std::uint64_t threads = 0;        ///< threads of the process
  double start_time_seconds = 0;    ///< start, in seconds since the Unix epoch
};

/// Serializes a process sample.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, process_sample& x) {
  return f(caf::meta::type_name("process_sample"), x.cpu_seconds, x.resident_bytes, x.virtual_bytes,
           x.open_fds, x.max_fds, x.threads, x.start_time_seconds);
}

/// The whole node at one instant, as the Broker answers `metrics_atom`.
struct node_snapshot {
  broker_snapshot broker;
  switchboard_snapshot switchboard;
  std::vector<cluster_member> members;   ///< cluster members (empty when not clustering)
  std::uint64_t cluster_connections = 0; ///< cluster connections (CAF's middleman) open now
  /// Cluster connections closed for announcing a message over the cap, since start.
  std::uint64_t cluster_refused_oversized = 0;
  /// Cluster connections closed at once over cluster-max-connections, since start.
  std::uint64_t cluster_refused_over_limit = 0;
  /// The process, sampled by the admin endpoint when it renders /metrics (zero otherwise).
  process_sample process;
};

/// Serializes a node snapshot.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_snapshot& x) {
  return f(caf::meta::type_name("node_snapshot"), x.broker, x.switchboard, x.members,
           x.cluster_connections, x.cluster_refused_oversized, x.cluster_refused_over_limit,
           x.process);
}

} // namespace rcbroker::actors

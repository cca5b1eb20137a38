#include "rcbroker/admin/metrics.hpp"

#include "rcbroker/actors/packet_check.hpp"
#include "rcbroker/admin/member_view.hpp"
#include "rcbroker/transport/channel.hpp"
#include "rcbroker/transport/listener.hpp"

#include <cstdint>
#include <spdlog/fmt/fmt.h>
#include <string_view>
#include <utility>
#include <vector>

namespace rcbroker::admin {

namespace {

using protocol::result_code;

/// One label of a sample: name and (unescaped) value.
using label = std::pair<std::string_view, std::string_view>;

/// Writes the text exposition format, one family at a time.
class exposition {
public:
  /// Starts a family: its HELP and TYPE lines.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    append_escaped(help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::string_view name, std::initializer_list<label> labels, std::uint64_t value) {
    sample_start(name, labels);
    out_ += std::to_string(value);
    out_ += '\n';
  }

  void sample(std::string_view name, std::initializer_list<label> labels, double value) {
    sample_start(name, labels);
    out_ += fmt::format("{}", value);
    out_ += '\n';
  }

  /// A family of one sample without labels.
  void single(std::string_view name, std::string_view type, std::string_view help,
              std::uint64_t value) {
    family(name, type, help);
    sample(name, {}, value);
  }

  std::string take() { return std::move(out_); }

private:
  void sample_start(std::string_view name, std::initializer_list<label> labels) {
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (auto& [key, value] : labels) {
        if (!first)
          out_ += ',';
        first = false;
        out_ += key;
        out_ += "=\"";
        append_escaped(value, true);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
  }

  // HELP text escapes backslash and newline; label values also the double quote.
  void append_escaped(std::string_view text, bool quote) {
    for (char c : text) {
      if (c == '\\')
        out_ += "\\\\";
      else if (c == '\n')
        out_ += "\\n";
      else if (c == '"' && quote)
        out_ += "\\\"";
      else
        out_ += c;
    }
  }

  std::string out_;
};

double seconds(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

void render_node(exposition& e, const actors::broker_snapshot& b, const node_info& info) {
  e.family("rcbroker_build_info", "gauge",
           "Version of the running broker and its node name, as labels; the value is always 1.");
  e.sample("rcbroker_build_info", {{"version", info.version}, {"node", info.name}},
           std::uint64_t{1});
  e.family("rcbroker_start_time_seconds", "gauge",
           "Time the node started, in seconds since the Unix epoch.");
  e.sample("rcbroker_start_time_seconds", {}, static_cast<double>(b.started_unix_ms) / 1e3);
  e.single("rcbroker_accepting", "gauge",
           "1 while the node accepts connections and work, 0 once an orderly shutdown began.",
           b.accepting ? 1 : 0);
  e.family("rcbroker_connections", "gauge", "Open socket connections, by endpoint kind.");
  e.sample("rcbroker_connections", {{"kind", "client"}}, b.client_connections);
  e.sample("rcbroker_connections", {{"kind", "worker"}}, b.worker_connections);
  e.family("rcbroker_connections_accepted_total", "counter",
           "Socket connections accepted since start, by endpoint kind.");
  e.sample("rcbroker_connections_accepted_total", {{"kind", "client"}}, b.clients_accepted);
  e.sample("rcbroker_connections_accepted_total", {{"kind", "worker"}}, b.workers_accepted);
  e.family("rcbroker_connections_refused_total", "counter",
           "Sockets closed at accept over max-client-connections or max-worker-connections, by "
           "endpoint kind.");
  e.sample("rcbroker_connections_refused_total", {{"kind", "client"}}, b.clients_refused);
  e.sample("rcbroker_connections_refused_total", {{"kind", "worker"}}, b.workers_refused);
  e.family("rcbroker_connections_closed_total", "counter",
           "Socket connections (tcp, tls, socket) that ended, by cause: peer_closed, io_error, "
           "frame_too_large, idle_timeout, first_packet_timeout, slow_reader (its write queue "
           "passed its bound), bad_packet (no readable cookie), node (shutdown, refusal).");
  for (std::size_t i = 0; i < b.closed_by_cause.size(); ++i)
    e.sample("rcbroker_connections_closed_total",
             {{"cause", transport::to_string(static_cast<transport::close_cause>(i))}},
             b.closed_by_cause[i]);
  if (!b.tls_handshake_failures.empty()) {
    e.family("rcbroker_tls_handshakes_failed_total", "counter",
             "TLS handshakes that failed or timed out, by tls:// or https:// endpoint.");
    for (auto& f : b.tls_handshake_failures)
      e.sample("rcbroker_tls_handshakes_failed_total", {{"endpoint", f.endpoint}}, f.count);
  }
  if (!b.http_refusals.empty()) {
    e.family("rcbroker_http_refused_total", "counter",
             "Requests and connections an http:// or https:// endpoint refused before any packet "
             "reached the node, by reason: malformed (400), no_cookie (400), wrong_path (404), "
             "wrong_method (405), too_large (413, 431), over_limit (closed at once).");
    for (auto& r : b.http_refusals)
      for (std::size_t i = 0; i < r.counts.size() && i < transport::http_refusal_count; ++i)
        e.sample("rcbroker_http_refused_total",
                 {{"endpoint", r.endpoint},
                  {"reason", transport::to_string(static_cast<transport::http_refusal>(i))}},
                 r.counts[i]);
  }
  e.family("rcbroker_packets_refused_total", "counter",
           "Packets the connections refused (answered BAD_PACKET or UNSUPPORTED_PACKET_TYPE, "
           "closed on, or dropped), by reason: invalid_json, unknown_packet_type, bad_field, "
           "missing_field, wrong_role (a packet type this side does not take), wrong_token (a "
           "worker's REGISTER without the worker-token).");
  for (std::size_t i = 0; i < actors::packet_refusal_count; ++i) // every reason, 0 included
    e.sample("rcbroker_packets_refused_total",
             {{"reason", actors::to_string(static_cast<actors::packet_refusal>(i))}},
             i < b.packets_refused.size() ? b.packets_refused[i] : 0);
  e.family("rcbroker_transport_connections", "gauge",
           "Open connections by transport (an HTTP request is a connection of its own).");
  for (auto& t : b.transports)
    e.sample("rcbroker_transport_connections", {{"transport", t.transport}}, t.open);
  e.family("rcbroker_transport_connections_accepted_total", "counter",
           "Connections accepted since start, by transport.");
  for (auto& t : b.transports)
    e.sample("rcbroker_transport_connections_accepted_total", {{"transport", t.transport}},
             t.accepted);
}

void render_routing(exposition& e, const actors::switchboard_snapshot& s) {
  e.family("rcbroker_transport_results_total", "counter",
           "RESULTs delivered to clients since start, by the transport the client came by "
           "(actor: actor clients, cluster: other nodes' links).");
  for (auto& t : s.results_by_transport)
    e.sample("rcbroker_transport_results_total", {{"transport", t.transport}}, t.count);
  e.single("rcbroker_clients", "gauge",
           "Clients known to the Switchboard (socket connections and actor clients).", s.clients);
  e.single("rcbroker_workers", "gauge",
           "Workers known to the Switchboard (socket connections and actor workers).", s.workers);
  e.single("rcbroker_slots_registered", "gauge", "Task slots registered by live workers.",
           s.registered_slots);
  e.single("rcbroker_slots_free", "gauge", "Registered task slots not running a task.",
           s.free_slots);
  e.single("rcbroker_routes", "gauge", "Open tasks: queued, running, cancelling or orphaned.",
           s.routes);
  e.single("rcbroker_runs_queued", "gauge", "RUNs waiting for a free slot.", s.queued);
}

void render_traffic(exposition& e, const actors::switchboard_snapshot& s) {
  auto& t = s.traffic;
  e.single("rcbroker_runs_received_total", "counter",
           "RUN requests that reached the Switchboard, whatever their answer.", t.runs_received);
  e.single("rcbroker_runs_started_total", "counter", "RUNs handed to a worker.", s.runs_accepted);
  e.family("rcbroker_results_total", "counter",
           "RESULTs by rc: origin=\"worker\" for worker RESULTs that ended a task, "
           "origin=\"broker\" for those the broker made itself.");
  for (std::size_t i = 0; i < actors::result_code_count; ++i) {
    auto rc = protocol::to_string(static_cast<result_code>(i));
    e.sample("rcbroker_results_total", {{"origin", "worker"}, {"rc", rc}}, t.worker_results[i]);
  }
  if (auto missing = t.worker_results[actors::result_code_count]; missing > 0)
    e.sample("rcbroker_results_total", {{"origin", "worker"}, {"rc", "MISSING"}}, missing);
  for (std::size_t i = 0; i < actors::result_code_count; ++i) {
    auto rc = protocol::to_string(static_cast<result_code>(i));
    e.sample("rcbroker_results_total", {{"origin", "broker"}, {"rc", rc}}, t.broker_results[i]);
  }
  e.single("rcbroker_results_forwarded_total", "counter",
           "Worker RESULTs passed on to their client.", s.results_forwarded);
  e.single("rcbroker_results_dropped_total", "counter",
           "Worker RESULTs dropped: unknown cookie, or another worker's task.", s.results_dropped);
  e.single("rcbroker_messages_rejected_total", "counter",
           "Messages rejected by the Switchboard: sender not joined or in the wrong role.",
           s.messages_rejected);
  e.single("rcbroker_cancels_dropped_total", "counter",
           "CANCELs not passed on: one for the same task had already gone to its worker.",
           t.cancels_dropped);
  e.single("rcbroker_tasks_timed_out_total", "counter",
           "Tasks whose client got EXCEPTION when their deadline passed (RUN timeout or "
           "max-task-duration).",
           t.tasks_timed_out);
  e.single("rcbroker_registers_refused_total", "counter",
           "REGISTERs refused because the worker would pass max-worker-capacity.",
           t.registers_refused);
  e.family("rcbroker_forwarded_frames_total", "counter",
           "Frames passed on unchanged: RUN and CANCEL to workers, RESULT to clients.");
  e.sample("rcbroker_forwarded_frames_total", {{"to", "worker"}}, t.frames_to_workers);
  e.sample("rcbroker_forwarded_frames_total", {{"to", "client"}}, t.frames_to_clients);
  e.family("rcbroker_forwarded_bytes_total", "counter",
           "Bytes of the frames passed on, length prefix included.");
  e.sample("rcbroker_forwarded_bytes_total", {{"to", "worker"}}, t.bytes_to_workers);
  e.sample("rcbroker_forwarded_bytes_total", {{"to", "client"}}, t.bytes_to_clients);
}

/// A histogram over the latency buckets, in seconds.
void render_histogram(exposition& e, std::string_view name, std::string_view help,
                      const actors::latency_histogram& h) {
  e.family(name, "histogram", help);
  auto bucket = std::string{name} + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < actors::latency_bounds_ns.size(); ++i) {
    cumulative += h.buckets[i];
    auto le = fmt::format("{}", seconds(actors::latency_bounds_ns[i]));
    e.sample(bucket, {{"le", le}}, cumulative);
  }
  e.sample(bucket, {{"le", "+Inf"}}, h.count);
  e.sample(std::string{name} + "_sum", {}, seconds(h.sum_ns));
  e.sample(std::string{name} + "_count", {}, h.count);
}

/// The journal's series: only a node with a journal has them.
void render_journal(exposition& e, const actors::switchboard_snapshot& s) {
  auto& t = s.traffic;
  e.single("rcbroker_journal_runs", "gauge",
           "Runs the journal holds now (detached RUNs until their RESULT, queued RUNs until they "
           "run).",
           s.journaled);
  e.single("rcbroker_journal_writes_total", "counter", "Runs written to the journal.",
           t.journal_writes);
  e.single("rcbroker_journal_replays_total", "counter",
           "Runs the journal held at start, run again.", t.journal_replays);
  e.family("rcbroker_journal_refusals_total", "counter",
           "RUNs answered NO_CAPACITY because the journal could not keep them, by reason.");
  e.sample("rcbroker_journal_refusals_total", {{"reason", "full"}}, t.journal_refused_full);
  e.sample("rcbroker_journal_refusals_total", {{"reason", "write_failed"}},
           t.journal_refused_failed);
  e.single("rcbroker_journal_failed_batches_total", "counter",
           "Journal transactions that failed (full or read-only file system).",
           t.journal_failed_batches);
  render_histogram(e, "rcbroker_journal_write_duration_seconds",
                   "Time one journal transaction (a batch of runs) took, fsync included.",
                   t.journal_latency);
}

bool clustered(const actors::node_snapshot& n) {
  auto& s = n.switchboard;
  return !n.members.empty() || n.cluster_connections > 0 || s.cluster_links > 0 ||
         !s.cluster_link_loads.empty() || s.cluster_runs_sent > 0 || s.cluster_runs_received > 0;
}

void render_members(exposition& e, const actors::node_snapshot& n) {
  auto views = member_views(n);
  auto each = [&](const char* name, const char* type, const char* help, auto value) {
    e.family(name, type, help);
    for (auto& v : views) {
      auto& m = *v.member;
      e.sample(name, {{"member", m.address}, {"name", m.name}}, std::uint64_t{value(v)});
    }
  };
  each("rcbroker_cluster_member_linked", "gauge", "1 while the member is linked, else 0.",
       [](const member_view& v) { return std::uint64_t{v.member->state == "linked" ? 1u : 0u}; });
  each("rcbroker_cluster_member_free_slots", "gauge", "Free slots the member offers here.",
       [](const member_view& v) { return v.free_slots; });
  each("rcbroker_cluster_member_tasks_sent_total", "counter",
       "Tasks sent to the member since its link came up.",
       [](const member_view& v) { return v.tasks_sent; });
  each("rcbroker_cluster_member_tasks_received_total", "counter",
       "Tasks received from the member since its link came up.",
       [](const member_view& v) { return v.tasks_received; });
  e.single("rcbroker_cluster_connections", "gauge",
           "Cluster connections open (members and remote actors, either way).",
           n.cluster_connections);
  e.family("rcbroker_cluster_connections_refused_total", "counter",
           "Cluster connections closed by the node's limits, by reason (oversized: announced a "
           "message over the cap; over_limit: over cluster-max-connections).");
  e.sample("rcbroker_cluster_connections_refused_total", {{"reason", "oversized"}},
           n.cluster_refused_oversized);
  e.sample("rcbroker_cluster_connections_refused_total", {{"reason", "over_limit"}},
           n.cluster_refused_over_limit);
}

void render_cluster(exposition& e, const actors::switchboard_snapshot& s) {
  e.single("rcbroker_cluster_links", "gauge", "Links to other nodes offering their slots here.",
           s.cluster_links);
  e.single("rcbroker_cluster_free_slots", "gauge", "Free slots the linked nodes offer.",
           s.cluster_free_slots);
  e.single("rcbroker_cluster_runs_sent_total", "counter", "RUNs this node sent to another node.",
           s.cluster_runs_sent);
  e.single("rcbroker_cluster_runs_received_total", "counter", "RUNs other nodes sent here.",
           s.cluster_runs_received);
}

// The names every Prometheus client library uses for its process, so that stock dashboards and
// alerts work as they are.
void render_process(exposition& e, const actors::process_sample& p) {
  e.family("process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.");
  e.sample("process_cpu_seconds_total", {}, p.cpu_seconds);
  e.single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           p.resident_bytes);
  e.single("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
           p.virtual_bytes);
  e.single("process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds);
  if (p.max_fds != 0)
    e.single("process_max_fds", "gauge", "Maximum number of open file descriptors.", p.max_fds);
  e.single("process_threads", "gauge", "Number of OS threads in the process.", p.threads);
  e.family("process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
  e.sample("process_start_time_seconds", {}, p.start_time_seconds);
}

} // namespace

std::string render_metrics(const actors::node_snapshot& s, const node_info& info) {
  exposition e;
  if (s.process.start_time_seconds > 0)
    render_process(e, s.process);
  render_node(e, s.broker, info);
  render_routing(e, s.switchboard);
  render_traffic(e, s.switchboard);
  render_histogram(
      e, "rcbroker_run_duration_seconds",
      "Time from a RUN reaching the broker to the worker's RESULT for it, queueing included.",
      s.switchboard.traffic.run_latency);
  if (s.switchboard.journal_enabled)
    render_journal(e, s.switchboard);
  if (clustered(s)) {
    render_cluster(e, s.switchboard);
    render_members(e, s);
  }
  return e.take();
}

} // namespace rcbroker::admin

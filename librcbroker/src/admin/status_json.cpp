#include "rcbroker/admin/status_json.hpp"

#include "rcbroker/admin/member_view.hpp"
#include "rcbroker/protocol/json_string.hpp"

#include <cstdint>
#include <spdlog/fmt/fmt.h>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rcbroker::admin {

namespace {

/// Appends JSON members to one object or array, minding the commas.
class json_writer {
public:
  explicit json_writer(std::string& out) : out_(out) {}

  void open(char bracket) {
    comma();
    out_ += bracket;
    first_ = true;
  }

  void close(char bracket) {
    out_ += bracket;
    first_ = false;
  }

  void key(std::string_view name) {
    comma();
    protocol::append_json_string(out_, name);
    out_ += ':';
    first_ = true; // the value follows without a comma
  }

  void value(std::string_view text) {
    comma();
    protocol::append_json_string(out_, text);
  }

  void value(std::uint64_t n) {
    comma();
    out_ += std::to_string(n);
  }

  void value(double x) {
    comma();
    out_ += fmt::format("{}", x);
  }

  void value(bool b) {
    comma();
    out_ += b ? "true" : "false";
  }

  template <class T>
  void member(std::string_view name, const T& v) {
    key(name);
    value(v);
  }

  void strings(std::string_view name, const std::vector<std::string>& list) {
    key(name);
    open('[');
    for (auto& item : list)
      value(std::string_view{item});
    close(']');
  }

private:
  void comma() {
    if (!first_)
      out_ += ',';
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
};

using connections_by_actor = std::unordered_map<std::uint64_t, const actors::connection_info*>;

void peers(json_writer& w, std::string_view name, std::string_view kind,
           const std::vector<actors::peer_load>& list, const connections_by_actor& connections,
           bool with_capacity) {
  w.key(name);
  w.open('[');
  for (auto& p : list) {
    w.open('{');
    w.member("id", p.actor_id);
    w.member("kind", kind);
    auto it = connections.find(p.actor_id);
    // Actor peers (in-process or of other nodes) and links have no socket of their own.
    if (it == connections.end()) {
      w.member("name", std::string_view{"actor"});
      w.member("transport", std::string_view{"actor"});
    } else {
      auto& c = *it->second;
      w.member("name", std::string_view{c.name});
      w.member("transport", std::string_view{c.transport});
      w.member("endpoint", std::string_view{c.endpoint});
      w.member("remote_address", std::string_view{c.remote});
      w.member("connected_since_unix_seconds", static_cast<double>(c.since_unix_ms) / 1e3);
      if (c.counted) {
        w.member("bytes_in", c.bytes_in);
        w.member("bytes_out", c.bytes_out);
        w.member("write_queue_bytes", c.queued_bytes);
      }
    }
    if (with_capacity)
      w.member("capacity", p.capacity);
    w.member("in_flight", p.in_flight);
    w.member("tasks", p.total);
    w.close('}');
  }
  w.close(']');
}

void members(json_writer& w, const actors::node_snapshot& s) {
  w.key("members");
  w.open('[');
  for (auto& v : member_views(s)) {
    auto& m = *v.member;
    w.open('{');
    w.member("name", std::string_view{m.name});
    w.member("address", std::string_view{m.address});
    w.member("state", std::string_view{m.state});
    w.member("since_unix_seconds", static_cast<double>(m.since_unix_ms) / 1e3);
    w.member("listed", m.listed);
    w.member("failures", m.failures);
    w.member("free_slots", v.free_slots);
    w.member("tasks_running", v.tasks_running);
    w.member("tasks_sent", v.tasks_sent);
    w.member("tasks_open", v.tasks_open);
    w.member("tasks_received", v.tasks_received);
    w.close('}');
  }
  w.close(']');
}

} // namespace

std::string render_status_json(const actors::node_snapshot& s, const node_info& info) {
  auto& b = s.broker;
  auto& sb = s.switchboard;
  connections_by_actor connections;
  for (auto& c : b.connections)
    connections.emplace(c.actor_id, &c);
  std::string out;
  json_writer w{out};
  w.open('{');
  w.member("node", std::string_view{info.name});
  w.member("version", std::string_view{info.version});
  w.member("accepting", b.accepting);
  w.member("started_unix_seconds", static_cast<double>(b.started_unix_ms) / 1e3);
  w.member("uptime_seconds", static_cast<double>(b.uptime_ms) / 1e3);
  w.key("endpoints");
  w.open('{');
  w.strings("clients", b.client_endpoints);
  w.strings("workers", b.worker_endpoints);
  w.member("admin", std::string_view{info.admin_url});
  w.close('}');
  w.key("connections");
  w.open('{');
  w.member("clients", b.client_connections);
  w.member("workers", b.worker_connections);
  w.close('}');
  w.key("slots");
  w.open('{');
  w.member("registered", sb.registered_slots);
  w.member("free", sb.free_slots);
  w.close('}');
  w.member("routes", sb.routes);
  w.member("queued", sb.queued);
  if (sb.journal_enabled) {
    w.key("journal");
    w.open('{');
    w.member("runs", sb.journaled);
    w.close('}');
  }
  w.key("counters");
  w.open('{');
  w.member("runs_received", sb.traffic.runs_received);
  w.member("runs_started", sb.runs_accepted);
  w.member("results_forwarded", sb.results_forwarded);
  w.member("results_dropped", sb.results_dropped);
  w.member("messages_rejected", sb.messages_rejected);
  w.close('}');
  peers(w, "workers", "worker", sb.worker_peers, connections, true);
  peers(w, "clients", "client", sb.client_peers, connections, false);
  w.key("cluster");
  w.open('{');
  w.member("link_count", sb.cluster_links);
  w.member("free_slots", sb.cluster_free_slots);
  w.member("runs_sent", sb.cluster_runs_sent);
  w.member("runs_received", sb.cluster_runs_received);
  peers(w, "links", "link", sb.cluster_link_loads, connections, true);
  members(w, s);
  w.key("connections");
  w.open('{');
  w.member("open", s.cluster_connections);
  w.member("refused_oversized", s.cluster_refused_oversized);
  w.member("refused_over_limit", s.cluster_refused_over_limit);
  w.close('}');
  w.close('}');
  w.close('}');
  out += '\n';
  return out;
}

} // namespace rcbroker::admin

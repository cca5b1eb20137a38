#include "rcbroker/node/effective_settings.hpp"

#include "rcbroker/protocol/json_string.hpp"

#include <chrono>
#include <vector>

namespace rcbroker::node {

namespace {

// JSON string syntax is also the config file's: backslash escapes, double quotes.
std::string quoted(const std::string& text) {
  std::string out;
  protocol::append_json_string(out, text);
  return out;
}

std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i > 0 ? ", " : "") + quoted(items[i]);
  return out + "]";
}

std::string duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms != 0 && ms % 3600000 == 0)
    return std::to_string(ms / 3600000) + "h";
  if (ms != 0 && ms % 60000 == 0)
    return std::to_string(ms / 60000) + "min";
  if (ms % 1000 == 0)
    return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

const std::string hidden_token = "(set, not shown)";

} // namespace

std::string render_settings(const settings& s) {
  std::vector<std::pair<const char*, std::string>> lines{
      {"client-endpoints", list(s.client_endpoints)},
      {"worker-endpoints", list(s.worker_endpoints)},
      {"max-frame-size", std::to_string(s.max_frame_size)},
      {"max-write-queue", std::to_string(s.max_write_queue)},
      {"cancel-grace", duration(s.cancel_grace)},
      {"queue-limit", std::to_string(s.queue_limit)},
      {"retries-on-worker-loss", std::to_string(s.retries_on_worker_loss)},
      {"cancel-orphans", s.cancel_orphans ? "true" : "false"},
      {"log-level", quoted(s.log_level)},
      {"status-interval", duration(s.status_interval)},
      {"io-threads", std::to_string(s.io_threads)},
      {"cluster-port", std::to_string(s.cluster_port)},
      {"cluster-bind", quoted(s.cluster_bind)},
      {"cluster-peers", list(s.cluster_peers)},
      {"cluster-advertise", quoted(s.cluster_advertise)},
      {"cluster-tls-cert", quoted(s.cluster_tls_cert)},
      {"cluster-tls-key", quoted(s.cluster_tls_key)},
      {"cluster-tls-ca", quoted(s.cluster_tls_ca)},
      {"cluster-insecure", s.cluster_insecure ? "true" : "false"},
      {"cluster-max-connections", std::to_string(s.cluster_max_connections)},
      {"node-name", quoted(s.node_name)},
      {"admin", quoted(s.admin)},
      {"log-format", quoted(s.log_format)},
      {"log-file", quoted(s.log_file)},
      {"log-levels", list(s.log_levels)},
      {"max-client-connections", std::to_string(s.max_client_connections)},
      {"max-worker-connections", std::to_string(s.max_worker_connections)},
      {"max-runs-per-client", std::to_string(s.max_runs_per_client)},
      {"max-runs-per-address", std::to_string(s.max_runs_per_address)},
      {"max-worker-capacity", std::to_string(s.max_worker_capacity)},
      {"max-task-duration", duration(s.max_task_duration)},
      {"idle-timeout", duration(s.idle_timeout)},
      {"tls-cert", quoted(s.tls_cert)},
      {"tls-key", quoted(s.tls_key)},
      {"tls-client-ca", quoted(s.tls_client_ca)},
      {"unix-socket-mode", quoted(s.unix_socket_mode)},
      // A secret has no place in a terminal or a journal.
      {"worker-token", s.worker_token.empty() ? quoted("") : quoted(hidden_token)},
      {"first-packet-timeout", duration(s.first_packet_timeout)},
      {"drain-timeout", duration(s.drain_timeout)},
      {"journal", quoted(s.journal)},
      {"journal-sync", quoted(s.journal_sync)},
      {"journal-max-runs", std::to_string(s.journal_max_runs)},
  };
  std::string out;
  for (auto& [key, value] : lines)
    out += std::string{key} + " = " + value + "\n";
  return out;
}

} // namespace rcbroker::node

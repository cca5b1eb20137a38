#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace broker::node {

/// The `[broker]` settings of a node, with their defaults.
struct settings {
  /// Where clients connect (defaults of the original broker).
  std::vector<std::string> client_endpoints{"socket:///tmp/reasonchip-broker-client.sock",
                                            "tcp://[::1]:51500"};
  /// Where workers connect (defaults of the original broker).
  std::vector<std::string> worker_endpoints{"socket:///tmp/reasonchip-broker-worker.sock",
                                            "tcp://[::1]:51510"};
  /// Largest packet accepted, in bytes; a longer frame closes its connection.
  std::size_t max_frame_size = 16u * 1024u * 1024u;
  /// Bytes queued for one peer that does not read before it is disconnected.
  std::size_t max_write_queue = 64u * 1024u * 1024u;
  /// How long a cancelled task may take before the broker answers its client itself.
  std::chrono::milliseconds cancel_grace{5000};
  /// RUNs that may wait for a slot (0: none wait, NO_CAPACITY at once, as the original).
  std::size_t queue_limit = 0;
  /// Whether to CANCEL at the worker the tasks of a client that went away.
  bool cancel_orphans = false;
  /// trace, debug, info, warn, error or off.
  std::string log_level = "info";
  /// Period of the status line in the log (0: never).
  std::chrono::milliseconds status_interval{30000};
  /// Threads running socket I/O.
  std::size_t io_threads = 1;
  /// Port on which this node's Switchboard is published to other nodes (0: no cluster port).
  std::size_t cluster_port = 0;
  /// Address the cluster port binds to.
  std::string cluster_bind = "127.0.0.1";
  /// Other nodes to link to, as HOST:PORT of their cluster ports.
  std::vector<std::string> cluster_peers;
  /// This node's name in logs and status (default: none).
  std::string node_name;
  /// HTTP admin endpoint (/metrics, /healthz, /status) as HOST:PORT, [V6]:PORT or PORT (on
  /// 127.0.0.1); empty: off. Off by default so that embedded and test nodes open no extra port;
  /// the shipped configuration files turn it on, on loopback.
  std::string admin;
  /// Log line format: "text" (readable) or "json" (one JSON object a line).
  std::string log_format = "text";
  /// File the log is appended to; empty: stderr.
  std::string log_file;
  /// Per-component levels overriding `log_level`, each "COMPONENT=LEVEL" with COMPONENT one of
  /// node, broker, switchboard, connection, admin.
  std::vector<std::string> log_levels;
};

/// Checks values that the types alone do not (endpoint URLs, ranges, log level). Returns an
/// empty string when all is well, otherwise what is wrong, naming the setting.
std::string validate(const settings& s);

} // namespace broker::node

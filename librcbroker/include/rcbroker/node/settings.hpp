#pragma once

#include "rcbroker/transport/endpoint.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::node {

/// Whether this build of the node serves endpoints of `type` (grpc:// and grpcs:// need a build
/// with gRPC).
bool served_by_this_build(transport::endpoint::kind type) noexcept;

/// The original broker's client endpoints: its Unix socket, tcp, and the grpc and http
/// endpoints this build serves.
std::vector<std::string> default_client_endpoints();

/// The original broker's worker endpoints: its Unix socket, tcp, and grpc when this build
/// serves it.
std::vector<std::string> default_worker_endpoints();

/// The `[broker]` settings of a node, with their defaults.
struct settings {
  /// Where clients connect (defaults of the original broker).
  std::vector<std::string> client_endpoints = default_client_endpoints();
  /// Where workers connect (defaults of the original broker).
  std::vector<std::string> worker_endpoints = default_worker_endpoints();
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
  /// How often a task whose worker went away runs again when its RUN has no `retries` field.
  std::size_t retries_on_worker_loss = 0;
  /// trace, debug, info, warn, error, critical or off.
  std::string log_level = "info";
  /// Period of the status line in the log (0: never).
  std::chrono::milliseconds status_interval{30000};
  /// Threads running socket I/O.
  std::size_t io_threads = 1;
  /// Port on which this node's Switchboard is published to other nodes (0: no cluster port).
  std::size_t cluster_port = 0;
  /// Address the cluster port binds to.
  std::string cluster_bind = "127.0.0.1";
  /// Other nodes to link to, as HOST:PORT of their cluster ports; one member is enough, the
  /// others are learnt from it.
  std::vector<std::string> cluster_peers;
  /// The HOST:PORT other members dial to reach this node (default: cluster-bind and the cluster
  /// port; the host name when cluster-bind is a wildcard).
  std::string cluster_advertise;
  /// PEM certificate and key of this node for cluster links, and the CA that signed every
  /// member's certificate: set all three for authenticated, encrypted links.
  std::string cluster_tls_cert;
  std::string cluster_tls_key;
  std::string cluster_tls_ca;
  /// Allows a cluster port on an address other machines can reach without cluster TLS.
  bool cluster_insecure = false;
  /// Cluster connections (members and remote actors, either way) open at once (0: no limit).
  std::size_t cluster_max_connections = 256;
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
  /// Client connections open at once; one more is closed as soon as it is accepted (0: no limit).
  std::size_t max_client_connections = 10000;
  /// Worker connections open at once; one more is closed as soon as it is accepted (0: no limit).
  std::size_t max_worker_connections = 1000;
  /// Open tasks per client connection; a RUN over it gets NO_CAPACITY (0: no limit).
  std::size_t max_runs_per_client = 10000;
  /// Open tasks of all client connections from one host (all Unix-socket clients count as one);
  /// a RUN over it gets NO_CAPACITY (0: no limit).
  std::size_t max_runs_per_address = 10000;
  /// Slots one worker connection may register in all; a REGISTER over it gets BAD_PACKET.
  std::size_t max_worker_capacity = 4096;
  /// A task not answered within this is answered for its client with EXCEPTION (0: no limit; a
  /// RUN's `timeout` field may set a shorter one).
  std::chrono::milliseconds max_task_duration{0};
  /// A connection from which no byte was read for this long is closed (0: never).
  std::chrono::milliseconds idle_timeout{0};
  /// PEM certificate chain of the node, for tls:// endpoints.
  std::string tls_cert;
  /// PEM private key of `tls_cert`, not encrypted.
  std::string tls_key;
  /// PEM CAs a TLS peer's certificate must chain to; empty: no peer certificate is asked for.
  std::string tls_client_ca;
  /// Permissions of the Unix socket files, in octal.
  std::string unix_socket_mode = "0660";
  /// What a worker must send in REGISTER's `token` field to get slots; empty: nothing.
  std::string worker_token;
  /// A connection that has not sent one whole packet within this long of connecting is closed
  /// (0: never): idle sockets would otherwise hold descriptors and connection places for ever.
  std::chrono::milliseconds first_packet_timeout{10000};
  /// On SIGTERM or SIGINT, how long the node first drains (takes no new RUNs, lets the open tasks
  /// finish) before it stops (0: it stops at once; SIGUSR2 drains for this long, or 30 s).
  std::chrono::milliseconds drain_timeout{0};
  /// SQLite file in which detached RUNs and RUNs that wait in the queue survive a restart
  /// (docs/RELIABILITY.md); empty: no journal.
  std::string journal;
  /// When a journal write reaches the disk: "always", "batch" or "off".
  std::string journal_sync = "batch";
  /// The most runs the journal holds; a RUN it would have to keep beyond gets NO_CAPACITY.
  std::size_t journal_max_runs = 100000;
};

/// A log level as the node spells it: lower case, the original's `WARNING` as `warn` (so
/// `DEBUG`, `Info`, `WARNING`, `critical` are all accepted); what is no level stays as given, for
/// `validate` to name.
std::string canonical_log_level(std::string_view level);

/// Sets `--log-level TEXT`: a LEVEL for every component, or, in the original's form
/// `LOGGER=LEVEL`, a `log-levels` entry for one component.
void set_log_level(std::string_view text, settings& s);

/// `log-levels` entries with their levels in canonical spelling.
std::vector<std::string> canonical_log_levels(std::vector<std::string> entries);

/// `mode` (octal, e.g. "0660") as permission bits, or nullopt when it is not an octal number of
/// at most 0777.
std::optional<unsigned> parse_socket_mode(std::string_view mode);

/// A client or worker endpoint that uses TLS, and the setting that lists it.
struct tls_endpoint {
  const char* key; ///< "client-endpoints" or "worker-endpoints"
  std::string url;
};

/// The first client or worker endpoint that uses TLS (tls://, https://, grpcs://), if any.
std::optional<tls_endpoint> first_tls_endpoint(const settings& s);

/// Checks values that the types alone do not (endpoint URLs, ranges, log level). Returns an
/// empty string when all is well, otherwise what is wrong, naming the setting.
std::string validate(const settings& s);

} // namespace rcbroker::node

#pragma once

#include <caf/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

namespace rcbroker::cluster {

/// How a node's cluster connections are made and bounded.
struct clustering_options {
  /// PEM files for authenticated, encrypted links (CAF's OpenSSL module): this node's
  /// certificate and key, and the CA that signed every member's certificate. All three or none.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  /// Largest message a cluster connection may announce, in bytes (0: no limit, as CAF).
  std::size_t max_payload = 0;
  /// Cluster connections open at once, either way (0: no limit).
  std::size_t max_connections = 0;

  /// Whether links are made with TLS.
  bool tls() const noexcept { return !tls_cert.empty(); }
};

/// Makes `cfg` able to cluster: loads CAF's middleman (on a backend that applies `opts`' limits),
/// CAF's OpenSSL module when `opts` asks for TLS, and announces every type that crosses nodes.
/// Call before the actor system is made from `cfg`.
void enable_clustering(caf::actor_system_config& cfg, const clustering_options& opts);

/// `enable_clustering` with no TLS and no limits: for actor systems that join a node from
/// outside (an actor worker's own process, tests).
void enable_clustering(caf::actor_system_config& cfg);

/// What the cluster connection limits refused since start (all zero when `sys` does not cluster).
struct guard_counts {
  std::uint64_t open = 0;       ///< cluster connections open now
  std::uint64_t oversized = 0;  ///< closed for announcing a message over the cap
  std::uint64_t over_limit = 0; ///< closed at once for passing cluster-max-connections
};

/// Reads the counters of `sys`'s cluster connection guard.
guard_counts cluster_guard_counts(caf::actor_system& sys);

} // namespace rcbroker::cluster

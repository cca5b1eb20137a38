#pragma once

#include "rcbroker/node/settings.hpp"

#include <cstdint>
#include <string>

namespace rcbroker::node {

/// File descriptors a node keeps for what is not a peer connection: listeners, the admin
/// endpoint and its connections, the cluster's sockets, the log file, CAF's and the runtime's.
inline constexpr std::uint64_t reserved_descriptors = 64;

/// The process's file descriptor limit against what the connection limits can take. Each
/// connection is a descriptor: past the limit, accept fails, and a worker's REGISTER or a
/// /metrics request finds no place, however idle the connections that hold them.
struct descriptor_budget {
  std::uint64_t limit = 0;        ///< the soft RLIMIT_NOFILE now (0 when it cannot be read)
  std::uint64_t limit_before = 0; ///< the soft limit the process started with
  std::uint64_t hard_limit = 0;   ///< the hard RLIMIT_NOFILE
  bool unlimited = false;         ///< the soft limit is RLIM_INFINITY
  std::size_t max_client_connections = 0;
  std::size_t max_worker_connections = 0;

  /// Whether a connection limit is 0 (no limit): then nothing bounds the descriptors used.
  bool unbounded() const noexcept;

  /// Descriptors the connection limits and the reserve need (without meaning when unbounded).
  std::uint64_t needed() const noexcept;

  /// An error for the operator when the bounded connection limits do not fit the descriptor
  /// limit, saying what to raise or lower; empty when they fit, or when they are unbounded.
  std::string error() const;

  /// A warning when a connection limit is 0 (no limit); empty otherwise.
  std::string warning() const;

  /// One line for the log: the limit (and whether it was raised) and what the settings need.
  std::string summary() const;
};

/// Raises the soft RLIMIT_NOFILE of the process to its hard limit (a process may, without
/// privilege) and returns the budget of `s` against it. rcbroker calls it once, before anything
/// is bound; a node embedded in another program leaves the limit to that program.
descriptor_budget raise_descriptor_limit(const settings& s);

} // namespace rcbroker::node

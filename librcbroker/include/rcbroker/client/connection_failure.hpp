#pragma once

// Why a client or worker could not connect (or was refused), and whether trying again can help.

#include <string>

namespace rcbroker::client {

/// A failed connection attempt or a refusal by the node, classified so that a caller retries only
/// what another attempt could change.
struct connection_failure {
  /// What kind of failure it was.
  enum class kind {
    /// Refused, reset, timed out, not resolved: the node may be back in a moment.
    transient,
    /// TLS: the node's certificate did not verify (CA, name), or the node asks for a client
    /// certificate and none was given, or refuses the one given.
    untrusted,
    /// The node refused the worker's REGISTER (a missing or wrong worker token).
    refused,
    /// The endpoint is not one this peer can dial (e.g. http://, or tls:// without TLS settings).
    unusable,
  };

  kind what = kind::transient;
  std::string message;

  /// True when another attempt would fail the same way: every kind but `transient`.
  bool permanent() const noexcept { return what != kind::transient; }
};

} // namespace rcbroker::client

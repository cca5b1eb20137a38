#pragma once

#include <cstdint>
#include <string>

namespace rcbroker::cluster {

/// A node's cluster address.
struct peer_address {
  std::string host;
  std::uint16_t port = 0;

  /// "HOST:PORT" ("[V6]:PORT" for IPv6).
  std::string to_string() const;
};

/// Parses "HOST:PORT" or "[V6ADDR]:PORT"; sets `error` and returns false when it is not one.
bool parse_peer_address(const std::string& text, peer_address& out, std::string& error);

/// Whether `host` names this machine's loopback interface (127.0.0.0/8, ::1 or "localhost"),
/// which no other machine can reach.
bool is_loopback_host(const std::string& host);

} // namespace rcbroker::cluster

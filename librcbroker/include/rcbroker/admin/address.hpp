#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rcbroker::admin {

/// Port of the admin endpoint in the shipped configuration files.
inline constexpr std::uint16_t default_admin_port = 51580;

/// Where the admin endpoint binds: a TCP host (name or literal address) and port.
struct address {
  std::string host;       ///< without IPv6 brackets
  std::uint16_t port = 0; ///< 0: the kernel picks one (tests)

  /// The `http://` URL of the address, e.g. "http://127.0.0.1:51580" or "http://[::1]:51580".
  std::string url() const;
};

/// An address, or why the text is not one.
struct address_result {
  std::optional<address> value;
  std::string error; ///< says what is wrong and what a valid address looks like
};

/// Parses `HOST:PORT`, `[V6ADDR]:PORT`, `:PORT` or `PORT`. Without a host the address is the
/// IPv4 loopback, 127.0.0.1: the endpoint tells the node's inner state to anyone who reaches it.
address_result parse_address(std::string_view text);

} // namespace rcbroker::admin

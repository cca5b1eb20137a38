#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rcbroker::transport {

/// Default TCP port of client endpoints.
inline constexpr std::uint16_t default_client_port = 51500;

/// Default TCP port of worker endpoints.
inline constexpr std::uint16_t default_worker_port = 51510;

/// Where a listener binds: a TCP address and port (plain or TLS), or a Unix-domain socket path.
struct endpoint {
  enum class kind { tcp, unix_socket, tls };

  kind type = kind::tcp;
  std::string host;       ///< tcp and tls: a name or literal address, without IPv6 brackets
  std::uint16_t port = 0; ///< tcp and tls only
  std::string path;       ///< unix_socket only

  /// Whether it is a TCP endpoint, plain or TLS.
  bool is_tcp() const noexcept { return type != kind::unix_socket; }

  /// The URL form, e.g. "tcp://[::1]:51500", "tls://127.0.0.1:51500" or "socket:///tmp/c.sock".
  std::string to_string() const;
};

/// An endpoint, or why the URL is not one.
struct endpoint_result {
  std::optional<endpoint> value;
  std::string error; ///< says what is wrong and what a valid URL looks like
};

/// Parses `tcp://HOST[:PORT]`, `tcp://[V6ADDR][:PORT]`, the same with `tls://` (TCP with TLS),
/// or `socket:///PATH`; a missing port is `default_port`, and one trailing slash after the
/// host or port is accepted (as the original takes `tcp://[::1]/`).
endpoint_result parse_endpoint(std::string_view url, std::uint16_t default_port);

} // namespace rcbroker::transport

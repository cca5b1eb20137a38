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

/// The port a URL without one gets, by scheme (the original's defaults).
struct default_ports {
  std::uint16_t framed; ///< tcp:// and tls://
  std::uint16_t grpc;   ///< grpc:// and grpcs://
  std::uint16_t http;   ///< http:// and https://
};

/// Client endpoints: tcp 51500, grpc 51501, http 51502.
inline constexpr default_ports client_ports{default_client_port, 51501, 51502};

/// Worker endpoints: tcp 51510, grpc 51511 (http:// serves clients only; 51512 is unused).
inline constexpr default_ports worker_ports{default_worker_port, 51511, 51512};

/// Where a listener binds: a TCP address and port (length-prefixed frames plain or over TLS,
/// HTTP or HTTPS, gRPC plain or over TLS), or a Unix-domain socket path.
struct endpoint {
  enum class kind { tcp, unix_socket, tls, http, https, grpc, grpcs };

  kind type = kind::tcp;
  std::string host;       ///< tcp and tls: a name or literal address, without IPv6 brackets
  std::uint16_t port = 0; ///< tcp and tls only
  std::string path;       ///< unix_socket only

  /// Whether it is a TCP endpoint, whatever runs over it.
  bool is_tcp() const noexcept { return type != kind::unix_socket; }

  /// Whether its peers speak TLS (tls://, https://, grpcs://).
  bool uses_tls() const noexcept {
    return type == kind::tls || type == kind::https || type == kind::grpcs;
  }

  /// Whether its peers send length-prefixed frames (tcp://, tls://, socket://).
  bool is_framed() const noexcept {
    return type == kind::tcp || type == kind::tls || type == kind::unix_socket;
  }

  /// The scheme as in its URL: "tcp", "socket", "tls", "http", "https", "grpc" or "grpcs".
  const char* scheme() const noexcept;

  /// The URL form, e.g. "tcp://[::1]:51500", "tls://127.0.0.1:51500" or "socket:///tmp/c.sock".
  std::string to_string() const;
};

/// An endpoint, or why the URL is not one.
struct endpoint_result {
  std::optional<endpoint> value;
  std::string error; ///< says what is wrong and what a valid URL looks like
};

/// Parses `tcp://HOST[:PORT]`, `tcp://[V6ADDR][:PORT]`, the same with `tls://` (TCP with TLS),
/// `http://`, `https://`, `grpc://` and `grpcs://` (gRPC over TLS), or `socket:///PATH`; a
/// missing port is the scheme's entry of `defaults`, and one trailing slash after the host or
/// port is accepted (as the original takes `tcp://[::1]/`).
endpoint_result parse_endpoint(std::string_view url, default_ports defaults);

/// As above with one default port for every scheme (0: the port must be given or is unused).
endpoint_result parse_endpoint(std::string_view url, std::uint16_t default_port);

} // namespace rcbroker::transport

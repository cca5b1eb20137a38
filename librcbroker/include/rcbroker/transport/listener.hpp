#pragma once

#include "rcbroker/transport/channel.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::transport {

/// Why an http:// or https:// endpoint refused a request before any packet reached the node: the
/// `reason` of rcbroker_http_refused_total.
enum class http_refusal : std::uint8_t {
  malformed,    ///< 400: not HTTP/1.1 the parser accepts
  no_cookie,    ///< 400: a body without a readable cookie
  wrong_path,   ///< 404: not /v1/stream/stream
  wrong_method, ///< 405: not POST
  too_large,    ///< 413, 431: a body over max-frame-size, headers over their limit
  over_limit,   ///< a connection closed at once: the endpoint's connections are all open
};

/// How many HTTP refusal reasons there are.
inline constexpr std::size_t http_refusal_count =
    static_cast<std::size_t>(http_refusal::over_limit) + 1;

/// The label of an HTTP refusal reason, e.g. "wrong_path".
inline std::string_view to_string(http_refusal reason) noexcept {
  static constexpr std::string_view names[http_refusal_count] = {
      "malformed", "no_cookie", "wrong_path", "wrong_method", "too_large", "over_limit"};
  return names[static_cast<std::size_t>(reason)];
}

/// Where peers arrive: a bound endpoint that hands each new peer to a callback as a channel (a
/// socket for tcp://, tls:// and socket://, one request for http://, one stream for grpc://).
class listener {
public:
  using accept_handler = std::function<void(channel_ptr)>;

  virtual ~listener() = default;

  /// Starts accepting; every new peer goes to `on_accept` on the io thread.
  virtual void start(accept_handler on_accept) = 0;

  /// Stops accepting (thread-safe, idempotent); peers already accepted keep their channels.
  virtual void stop() = 0;

  /// The endpoint actually bound, as a URL (with the real port when the configured one was 0).
  virtual std::string bound_url() const = 0;

  /// TLS handshakes that failed or timed out (tls://, https://); nullopt for a listener without
  /// TLS of its own (thread-safe).
  virtual std::optional<std::uint64_t> handshake_failures() const { return std::nullopt; }

  /// http:// and https://: the requests and connections refused, by http_refusal; empty for a
  /// listener that serves no HTTP (thread-safe).
  virtual std::vector<std::uint64_t> http_refusals() const { return {}; }
};

} // namespace rcbroker::transport

#pragma once

#include "rcbroker/transport/channel.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace rcbroker::transport {

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
};

} // namespace rcbroker::transport

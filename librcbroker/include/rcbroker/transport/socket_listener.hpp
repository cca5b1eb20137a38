#pragma once

#include "rcbroker/transport/endpoint.hpp"
#include "rcbroker/transport/listener.hpp"
#include "rcbroker/transport/stream.hpp"

#include <atomic>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace rcbroker::transport {

class http_sessions;

/// How a listener treats what it accepts, beyond the limits of each stream.
struct listener_options {
  /// Permissions of a Unix socket file, set after bind and before listen (a peer needs write
  /// permission to connect).
  unsigned unix_socket_mode = 0660;
  /// The TLS server context of a tls:// endpoint (see tls_context.hpp); required there.
  std::shared_ptr<boost::asio::ssl::context> tls;
  /// Time a TLS peer has to complete its handshake before its socket is closed.
  std::chrono::milliseconds tls_handshake_timeout{10000};
  /// http:// and https:// only: connections open at once, whether a request runs on them or
  /// not; one more is closed as soon as it is accepted (0: no limit).
  std::size_t max_http_connections = 0;
};

/// A bound, listening socket for one endpoint (TCP, TLS or Unix-domain) that hands each accepted
/// connection to a callback as a stream of length-prefixed frames (tcp://, tls://, socket://),
/// or serves HTTP on it and hands each request to the callback as a channel of its own (http://,
/// https://; see http_session.hpp). On a TLS endpoint the TLS handshake comes first: a peer whose
/// handshake fails (or does not finish in time) is logged at warn and closed, and never reaches
/// the callback.
class socket_listener final : public listener,
                              public std::enable_shared_from_this<socket_listener> {
public:
  /// Binds and listens now; throws std::runtime_error with a message for the operator when the
  /// endpoint cannot be bound. A stale Unix socket file at the path (one nobody accepts on) is
  /// removed first; a live one, another process listening there, stops the start.
  socket_listener(boost::asio::io_context& ioc, endpoint ep, stream::limits lim,
                  listener_options opts = {});

  ~socket_listener() override;

  /// Starts accepting; every accepted connection goes to `on_accept` (on an Asio thread).
  void start(accept_handler on_accept) override;

  /// Stops accepting and removes the Unix socket file (thread-safe, idempotent).
  void stop() override;

  /// The endpoint as configured.
  const endpoint& where() const noexcept { return endpoint_; }

  /// The endpoint actually bound (with the real port when the configured port was 0).
  std::string bound_url() const override;

  /// Failed TLS handshakes of a tls:// or https:// endpoint; nullopt without TLS.
  std::optional<std::uint64_t> handshake_failures() const override;
  std::vector<std::uint64_t> http_refusals() const override;

private:
  void accept_next();
  void handshake(stream::socket_type socket, std::string name);
  void handshake_failed(const std::string& name, const std::string& reason);

  boost::asio::io_context& ioc_;
  endpoint endpoint_;
  stream::limits limits_;
  listener_options options_;
  std::atomic<std::uint64_t> handshake_failures_{0}; // handshakes run on their sockets' strands
  boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol> acceptor_;
  boost::asio::steady_timer retry_timer_;
  accept_handler on_accept_;
  std::shared_ptr<http_sessions> http_sessions_; // http:// and https:// only
  std::uint16_t bound_port_ = 0;
  bool stopped_ = false;
};

} // namespace rcbroker::transport

#pragma once

#include "broker/transport/endpoint.hpp"
#include "broker/transport/stream.hpp"

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

namespace broker::transport {

/// A bound, listening socket for one endpoint (TCP or Unix-domain) that hands each accepted
/// connection to a callback as a stream.
class listener : public std::enable_shared_from_this<listener> {
public:
  using accept_handler = std::function<void(stream_ptr)>;

  /// Binds and listens now; throws std::runtime_error with a message for the operator when the
  /// endpoint cannot be bound. A stale Unix socket file at the path is removed first.
  listener(boost::asio::io_context& ioc, endpoint ep, stream::limits lim);

  ~listener();

  /// Starts accepting; every accepted connection goes to `on_accept` (on an Asio thread).
  void start(accept_handler on_accept);

  /// Stops accepting and removes the Unix socket file (thread-safe, idempotent).
  void stop();

  /// The endpoint as configured.
  const endpoint& where() const noexcept { return endpoint_; }

  /// The endpoint actually bound (with the real port when the configured port was 0).
  std::string bound_url() const;

private:
  void accept_next();

  boost::asio::io_context& ioc_;
  endpoint endpoint_;
  stream::limits limits_;
  boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol> acceptor_;
  boost::asio::steady_timer retry_timer_;
  accept_handler on_accept_;
  std::uint16_t bound_port_ = 0;
  bool stopped_ = false;
};

} // namespace broker::transport

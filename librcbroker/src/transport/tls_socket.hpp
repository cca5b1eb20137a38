#pragma once

// A TLS session over a connected socket: what a tls:// endpoint's stream reads and writes. Kept
// out of the public headers so that only the transport's own sources see OpenSSL.

#include "rcbroker/transport/stream.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <utility>

namespace rcbroker::transport {

/// A TLS session over a connected socket: server side over an accepted socket (the listener), or
/// client side (client::connect_attempt).
struct tls_socket {
  /// Wraps `socket` for TLS with the settings of `context` (a server or a client context); the
  /// handshake is still to be done.
  tls_socket(stream::socket_type socket, boost::asio::ssl::context& context)
      : ssl(std::move(socket), context) {}

  boost::asio::ssl::stream<stream::socket_type> ssl; ///< the session
};

} // namespace rcbroker::transport

#pragma once

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstddef>
#include <memory>
#include <utility>

namespace rcbench {

/// A connected socket, plain or inside a TLS session (a tls:// endpoint): what every connection
/// of rcbench reads and writes. Asio's read, write and async_write take it as they take a socket.
class bench_socket {
public:
  /// A TCP or Unix-domain stream socket.
  using plain_type = boost::asio::generic::stream_protocol::socket;
  /// A TLS session over one, its handshake done.
  using tls_type = boost::asio::ssl::stream<plain_type>;
  using executor_type = plain_type::executor_type;

  /// A plain socket.
  explicit bench_socket(plain_type plain) : plain_(std::move(plain)) {}

  /// A TLS session whose handshake is done.
  explicit bench_socket(std::unique_ptr<tls_type> tls)
      : plain_(tls->get_executor()), tls_(std::move(tls)) {}

  /// The executor of the socket's handlers.
  executor_type get_executor() { return plain_.get_executor(); }

  /// The socket itself (under the TLS session, if any): for poll() and closing.
  plain_type& lowest_layer() { return tls_ ? tls_->next_layer() : plain_; }

  /// Whether the peer closed the connection (or it failed), without blocking; data that arrived
  /// meanwhile is read and dropped under TLS (session tickets), peeked at when plain.
  bool closed_by_peer();

  /// Bytes the TLS session decrypted and holds for the next read: poll() on the socket does not
  /// see them (0 for a plain socket).
  std::size_t buffered() const;

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    else
      plain_.async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    else
      plain_.async_write_some(buffers, std::forward<Handler>(handler));
  }

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
    return tls_ ? tls_->read_some(buffers, ec) : plain_.read_some(buffers, ec);
  }

  template <class Buffers>
  std::size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
    return tls_ ? tls_->write_some(buffers, ec) : plain_.write_some(buffers, ec);
  }

  /// Closes the socket (no close_notify: the node does not wait for one either).
  void close() {
    boost::system::error_code ignored;
    lowest_layer().close(ignored);
  }

private:
  plain_type plain_;              // the connection; unused (closed) under TLS
  std::unique_ptr<tls_type> tls_; // null for a plain socket
};

} // namespace rcbench

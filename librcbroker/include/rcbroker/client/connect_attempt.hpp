#pragma once

// Client-side connect: the counterpart of transport::listener, for clients and workers.

#include "rcbroker/client/connection_failure.hpp"
#include "rcbroker/transport/endpoint.hpp"
#include "rcbroker/transport/stream.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace rcbroker::client {

/// The strand every handler of one client or worker connection runs on.
using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

/// One attempt to connect a stream to an endpoint, bounded by a timeout: a TCP endpoint tries
/// each address its host resolves to in turn; a Unix-domain endpoint connects to its path; a
/// TLS endpoint connects as TCP, then completes a TLS handshake that verifies the node's
/// certificate for the endpoint's host, all within the same timeout.
class connect_attempt : public std::enable_shared_from_this<connect_attempt> {
public:
  /// Gets the connected stream (not started yet), or null and why not (whether another attempt
  /// could succeed, too).
  using handler = std::function<void(transport::stream_ptr stream, connection_failure failure)>;

  /// Starts an attempt; `on_done` runs once, on `strand`. The stream's handlers will run on the
  /// same strand. A tls:// endpoint needs `tls` (transport::make_tls_client_context), or fails.
  static std::shared_ptr<connect_attempt> start(strand_type strand, transport::endpoint where,
                                                std::chrono::milliseconds timeout,
                                                transport::stream::limits limits,
                                                std::shared_ptr<boost::asio::ssl::context> tls,
                                                handler on_done);

  /// Gives up now; `on_done` gets an error unless it ran already. Call on the strand.
  void cancel();

  /// Use start(); public for std::make_shared only.
  connect_attempt(strand_type strand, transport::endpoint where, transport::stream::limits limits,
                  std::shared_ptr<boost::asio::ssl::context> tls, handler on_done);
  ~connect_attempt();

private:
  void begin(std::chrono::milliseconds timeout);
  void try_next_address();
  void handshake();
  bool refused_without_certificate() const;
  connection_failure handshake_error(const boost::system::error_code& ec) const;
  void finish(transport::stream_ptr stream, connection_failure failure);
  void fail(std::string message);

  strand_type strand_;
  transport::endpoint where_;
  transport::stream::limits limits_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_; // null unless TLS is configured
  handler on_done_;
  transport::stream::socket_type socket_;
  std::unique_ptr<transport::tls_socket> tls_; // the socket during the TLS handshake
  bool client_cert_requested_ = false;         // the node asked for a client certificate
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer deadline_;
  std::vector<boost::asio::generic::stream_protocol::endpoint> addresses_;
  std::size_t next_address_ = 0;
  std::string last_error_;
  bool done_ = false;
};

} // namespace rcbroker::client

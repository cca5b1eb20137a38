#pragma once

#include "broker/admin/address.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace broker::admin {

/// A response the server writes.
struct http_response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// Hands over the response to a request once it is ready; callable from any thread.
using respond_fn = std::function<void(http_response)>;

/// Answers a GET of `path` (the request target without its query string) by calling `respond`
/// exactly once, now or later.
using request_handler = std::function<void(std::string_view path, respond_fn respond)>;

/// A small HTTP/1.1 server for the admin endpoint, on the node's io_context. It accepts GET
/// only (405 otherwise), answers malformed requests with 400 (431 and 413 for headers and bodies
/// over the limits), bounds every read and write by a deadline and the number of open
/// connections, and hands each valid request to the handler. Every handler of the server and its
/// connections runs on one strand: admin traffic is light, and one strand needs no lock.
class http_server : public std::enable_shared_from_this<http_server> {
public:
  /// Bounds on what a client can make the server hold.
  struct limits {
    std::size_t max_header_bytes = 8 * 1024;  ///< request line and headers
    std::size_t max_body_bytes = 1024;        ///< a GET needs none; a little is tolerated
    std::size_t max_connections = 32;         ///< more are closed at once
    std::chrono::milliseconds timeout{10000}; ///< per read of a request and per response write
  };

  /// Binds and listens now; throws std::runtime_error naming the address when it cannot.
  http_server(boost::asio::io_context& ioc, const address& where, limits lim);

  /// Binds with the default limits.
  http_server(boost::asio::io_context& ioc, const address& where)
      : http_server(ioc, where, limits{}) {}

  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Starts accepting; `handler` answers every valid request.
  void start(request_handler handler);

  /// Stops accepting and closes every connection (thread-safe, idempotent).
  void stop();

  /// The port bound (the real one when 0 was asked for).
  std::uint16_t port() const noexcept { return port_; }

  /// The URL of the server, e.g. "http://127.0.0.1:51580".
  std::string url() const;

private:
  class session;
  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

  void accept_next();
  void forget(const std::shared_ptr<session>& s);

  strand_type strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  address where_;
  limits limits_;
  std::uint16_t port_ = 0;
  request_handler handler_;
  std::set<std::shared_ptr<session>> sessions_; // touched on the strand only
  bool stopped_ = false;                        // touched on the strand only
};

} // namespace broker::admin

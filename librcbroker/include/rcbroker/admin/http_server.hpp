#pragma once

#include "rcbroker/admin/address.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace rcbroker::admin {

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
/// over the limits), and hands each valid request to the handler. A request must arrive whole
/// within a short deadline and a response be written within another; the open connections are
/// bounded, and when they are all open a new one takes the place of the connection that has
/// waited longest for its request, so that slow peers cannot keep probes and scrapes out. Every
/// handler of the server and its connections runs on one strand: admin traffic is light, and one
/// strand needs no lock.
class http_server : public std::enable_shared_from_this<http_server> {
public:
  /// Bounds on what a client can make the server hold.
  struct limits {
    std::size_t max_header_bytes = 8 * 1024; ///< request line and headers
    std::size_t max_body_bytes = 1024;       ///< a GET needs none; a little is tolerated
    /// Open connections at most. When all are open, a new connection closes the one that has
    /// waited longest for its request; only when every one is being answered is it closed itself.
    std::size_t max_connections = 256;
    /// From the accept (or the end of the previous response on a kept-alive connection) until
    /// the request line, headers and any body are read: one deadline for the whole request, which
    /// a peer sending a byte now and then does not extend.
    std::chrono::milliseconds request_timeout{2000};
    /// For writing one response.
    std::chrono::milliseconds write_timeout{10000};
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
  void admit(boost::asio::ip::tcp::socket socket);
  bool evict_a_waiting_session();
  std::uint64_t waiting(std::shared_ptr<session> s);
  void done_waiting(std::uint64_t ticket);
  void forget(const std::shared_ptr<session>& s, std::uint64_t ticket);

  strand_type strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  address where_;
  limits limits_;
  std::uint16_t port_ = 0;
  request_handler handler_;
  // Touched on the strand only. Every open connection is in `sessions_`; those waiting for a
  // request are also in `waiting_`, by a ticket taken when the wait began: the first is the one
  // that has waited longest.
  std::set<std::shared_ptr<session>> sessions_;
  std::map<std::uint64_t, std::shared_ptr<session>> waiting_;
  std::uint64_t next_ticket_ = 1;
  bool stopped_ = false;
};

} // namespace rcbroker::admin

#include "rcbroker/client/connect_attempt.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>

namespace rcbroker::client {

namespace asio = boost::asio;
using generic_endpoint = asio::generic::stream_protocol::endpoint;

std::shared_ptr<connect_attempt> connect_attempt::start(strand_type strand,
                                                        transport::endpoint where,
                                                        std::chrono::milliseconds timeout,
                                                        transport::stream::limits limits,
                                                        handler on_done) {
  auto attempt =
      std::make_shared<connect_attempt>(strand, std::move(where), limits, std::move(on_done));
  asio::post(strand, [attempt, timeout] { attempt->begin(timeout); });
  return attempt;
}

connect_attempt::connect_attempt(strand_type strand, transport::endpoint where,
                                 transport::stream::limits limits, handler on_done)
    : strand_(strand), where_(std::move(where)), limits_(limits), on_done_(std::move(on_done)),
      socket_(strand), resolver_(strand), deadline_(strand) {}

void connect_attempt::begin(std::chrono::milliseconds timeout) {
  if (done_)
    return;
  deadline_.expires_after(timeout);
  deadline_.async_wait([self = shared_from_this(), timeout](boost::system::error_code ec) {
    if (!ec)
      self->finish(nullptr, "timed out after " + std::to_string(timeout.count()) + " ms");
  });
  if (!where_.is_framed()) {
    finish(nullptr, std::string{where_.scheme()} +
                        ":// is for other kinds of clients; this one connects over tcp:// or "
                        "socket://");
    return;
  }
  if (where_.type == transport::endpoint::kind::tls) {
    // Connecting in the clear would send the tasks unencrypted where TLS was asked for.
    finish(nullptr, "tls:// endpoints are not supported by this client; use tcp:// or socket://");
    return;
  }
  if (where_.type == transport::endpoint::kind::unix_socket) {
    addresses_.emplace_back(asio::local::stream_protocol::endpoint{where_.path});
    try_next_address();
    return;
  }
  // No address_configured flag: it hides ::1 on hosts without a global IPv6 address.
  resolver_.async_resolve(
      where_.host, std::to_string(where_.port), asio::ip::tcp::resolver::numeric_service,
      [self = shared_from_this()](boost::system::error_code ec,
                                  asio::ip::tcp::resolver::results_type results) {
        if (self->done_)
          return;
        if (ec) {
          self->finish(nullptr, "cannot resolve " + self->where_.host + ": " + ec.message());
          return;
        }
        for (const auto& entry : results)
          self->addresses_.emplace_back(entry.endpoint());
        self->try_next_address();
      });
}

void connect_attempt::try_next_address() {
  if (next_address_ >= addresses_.size()) {
    finish(nullptr, last_error_.empty() ? "no address to connect to" : last_error_);
    return;
  }
  const auto& address = addresses_[next_address_++];
  boost::system::error_code ec;
  socket_.close(ec);
  socket_.open(address.protocol(), ec);
  if (ec) {
    last_error_ = ec.message();
    try_next_address();
    return;
  }
  socket_.async_connect(address, [self = shared_from_this()](boost::system::error_code ec) {
    if (self->done_)
      return;
    if (ec) {
      self->last_error_ = ec.message();
      self->try_next_address();
      return;
    }
    boost::system::error_code ignored;
    if (self->where_.type == transport::endpoint::kind::tcp) {
      self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
      self->socket_.set_option(asio::socket_base::keep_alive(true), ignored);
    }
    self->finish(std::make_shared<transport::stream>(std::move(self->socket_), self->limits_,
                                                     self->where_.to_string()),
                 {});
  });
}

void connect_attempt::cancel() {
  finish(nullptr, "connection attempt cancelled");
}

void connect_attempt::finish(transport::stream_ptr stream, std::string error) {
  if (done_)
    return;
  done_ = true;
  boost::system::error_code ignored;
  deadline_.cancel();
  resolver_.cancel();
  if (!stream)
    socket_.close(ignored);
  auto on_done = std::move(on_done_);
  on_done_ = nullptr;
  if (on_done)
    on_done(std::move(stream), std::move(error));
}

} // namespace rcbroker::client

#include "rcbroker/admin/http_server.hpp"

#include "rcbroker/logging/component.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <spdlog/spdlog.h>
#include <stdexcept>

namespace rcbroker::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// This file's logger: its level is the `admin` entry of `log-levels`.
spdlog::logger& admin_log() {
  return logging::logger(logging::component::admin);
}

http_response plain(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

/// The response to a request that failed to parse, or none when the connection just ended.
std::optional<http_response> parse_failure(const beast::error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return plain(431, "request header too large\n");
  if (ec == http::error::body_limit)
    return plain(413, "request body too large\n");
  if (ec == http::error::end_of_stream || ec == http::error::partial_message)
    return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_method).category())
    return plain(400, "malformed HTTP request\n");
  return std::nullopt; // timeout, reset, closed by us
}

} // namespace

/// One client connection: reads a request, has it answered, writes the response, and reads the
/// next one if the client keeps the connection alive.
class http_server::session : public std::enable_shared_from_this<session> {
public:
  session(std::shared_ptr<http_server> server, tcp::socket socket)
      : server_(std::move(server)), stream_(std::move(socket)),
        buffer_(server_->limits_.max_header_bytes + server_->limits_.max_body_bytes) {}

  void start() { read(); }

  void close() {
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

private:
  void read() {
    if (server_->stopped_)
      return end();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->limits_.max_header_bytes));
    parser_->body_limit(server_->limits_.max_body_bytes);
    ticket_ = server_->waiting(shared_from_this());
    // Set once for the whole request: the stream's deadline is a point in time that every read of
    // the request shares, so bytes that arrive one by one do not push it back.
    stream_.expires_after(server_->limits_.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(const beast::error_code& ec) {
    server_->done_waiting(ticket_);
    ticket_ = 0;
    // A read that completed just before `stop` ran, or before this connection was closed to make
    // room for a new one: answer nothing.
    if (server_->stopped_ || closed_)
      return end();
    if (ec) {
      if (auto failure = parse_failure(ec)) {
        keep_alive_ = false;
        return write(std::move(*failure));
      }
      return end();
    }
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    // HEAD is GET without the body (RFC 9110): load balancers probe /healthz with it.
    head_only_ = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head_only_) {
      allow_get_ = true;
      return write(plain(405, "only GET and HEAD are supported\n"));
    }
    auto target = req.target();
    if (target.empty() || target.front() != '/') {
      keep_alive_ = false;
      return write(plain(400, "the request target must be a path\n"));
    }
    std::string path{target.substr(0, target.find('?'))};
    auto strand = server_->strand_;
    auto self = shared_from_this();
    // The handler may answer from an actor's thread: come back to the strand to write.
    server_->handler_(path, [self, strand](http_response r) {
      asio::post(strand, [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
    });
  }

  void write(http_response r) {
    if (server_->stopped_)
      return end();
    response_.emplace(static_cast<http::status>(r.status), 11);
    response_->set(http::field::server, "rcbroker");
    response_->set(http::field::content_type, r.content_type);
    response_->set(http::field::cache_control, "no-store");
    if (allow_get_)
      response_->set(http::field::allow, "GET, HEAD");
    allow_get_ = false;
    response_->keep_alive(keep_alive_);
    response_->body() = std::move(r.body);
    response_->prepare_payload(); // Content-Length of the GET's body, also for HEAD
    if (head_only_)
      response_->body().clear();
    stream_.expires_after(server_->limits_.write_timeout);
    http::async_write(stream_, *response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->keep_alive_)
                          return self->end();
                        self->read();
                      });
  }

  void end() {
    close();
    server_->forget(shared_from_this(), ticket_);
    ticket_ = 0;
  }

  std::shared_ptr<http_server> server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  bool keep_alive_ = false;
  bool allow_get_ = false;
  bool head_only_ = false; // the request is a HEAD: headers only
  bool closed_ = false;
  std::uint64_t ticket_ = 0; // in the server's `waiting_` while not 0
};

http_server::http_server(asio::io_context& ioc, const address& where, limits lim)
    : strand_(asio::make_strand(ioc)), acceptor_(strand_), retry_(strand_), where_(where),
      limits_(lim) {
  auto fail = [&](const std::string& what, const beast::error_code& ec) {
    throw std::runtime_error("cannot bind the admin endpoint " + where.host + ":" +
                             std::to_string(where.port) + ": " + what + ec.message());
  };
  beast::error_code ec;
  tcp::resolver resolver{ioc};
  auto results =
      resolver.resolve(where.host, std::to_string(where.port), tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    fail("cannot resolve the host: ", ec);
  auto ep = results.begin()->endpoint();
  if (acceptor_.open(ep.protocol(), ec); ec)
    fail("", ec);
  if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec); ec)
    fail("", ec);
  if (acceptor_.bind(ep, ec); ec)
    fail("", ec);
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec)
    fail("", ec);
  port_ = acceptor_.local_endpoint().port();
  where_.port = port_;
}

http_server::~http_server() = default;

std::string http_server::url() const {
  return where_.url();
}

void http_server::start(request_handler handler) {
  asio::post(strand_, [self = shared_from_this(), handler = std::move(handler)]() mutable {
    self->handler_ = std::move(handler);
    self->accept_next();
  });
}

void http_server::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->stopped_)
      return;
    self->stopped_ = true;
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_.cancel();
    auto sessions = std::move(self->sessions_);
    self->sessions_.clear();
    self->waiting_.clear();
    for (auto& s : sessions)
      s->close();
  });
}

void http_server::accept_next() {
  acceptor_.async_accept(strand_,
                         [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                           if (self->stopped_)
                             return;
                           if (ec) {
                             // Out of descriptors and the like: try again a little later instead of
                             // spinning.
                             admin_log().warn("admin: accept failed: {}", ec.message());
                             self->retry_.expires_after(std::chrono::milliseconds{100});
                             self->retry_.async_wait([self](beast::error_code) {
                               if (!self->stopped_)
                                 self->accept_next();
                             });
                             return;
                           }
                           self->admit(std::move(socket));
                           self->accept_next();
                         });
}

void http_server::admit(tcp::socket socket) {
  if (sessions_.size() >= limits_.max_connections && !evict_a_waiting_session()) {
    // Every connection is being answered: they end soon, and the newcomer may try again.
    admin_log().debug("admin: {} connections are being answered, closed a new one",
                      sessions_.size());
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  auto s = std::make_shared<session>(shared_from_this(), std::move(socket));
  sessions_.insert(s);
  s->start();
}

bool http_server::evict_a_waiting_session() {
  if (waiting_.empty())
    return false;
  // The one that has waited longest is the slowest peer, and the nearest to its deadline anyway;
  // a probe that connects now sends its request at once and is answered before its turn comes.
  auto oldest = waiting_.begin();
  auto victim = std::move(oldest->second);
  waiting_.erase(oldest);
  sessions_.erase(victim);
  admin_log().debug("admin: {} connections open, closed the one waiting longest for its request",
                    limits_.max_connections);
  victim->close();
  return true;
}

std::uint64_t http_server::waiting(std::shared_ptr<session> s) {
  auto ticket = next_ticket_++;
  waiting_.emplace(ticket, std::move(s));
  return ticket;
}

void http_server::done_waiting(std::uint64_t ticket) {
  waiting_.erase(ticket);
}

void http_server::forget(const std::shared_ptr<session>& s, std::uint64_t ticket) {
  waiting_.erase(ticket);
  sessions_.erase(s);
}

} // namespace rcbroker::admin

#include "http_session.hpp"

#include "rcbroker/logging/component.hpp"
#include "rcbroker/logging/repeated.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "tls_socket.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdio>
#include <optional>
#include <spdlog/spdlog.h>

namespace rcbroker::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// The original's one route: a client posts a packet and reads the packets for it.
constexpr std::string_view stream_path = "/v1/stream/stream";

/// Request line and headers; the body is bounded by `max-frame-size`.
constexpr std::uint32_t max_header_bytes = 8 * 1024;

/// Bodies up to this size are read whole on the I/O thread when a quick look finds no cookie, so
/// that a broken packet gets the BAD_PACKET a socket peer's gets whenever its cookie can be read
/// (the connection's own limit for reading on the I/O thread, actors::large_frame_bytes).
constexpr std::size_t small_body_bytes = 64 * 1024;

/// Bytes read ahead while a request runs, to notice that the client went away.
constexpr std::size_t watch_bytes = 4 * 1024;

spdlog::logger& http_log() {
  return logging::logger(logging::component::connection);
}

// A flood of bad requests must not flood the log.
bool worth_logging() {
  static std::atomic<std::uint64_t> count{0};
  return logging::worth_logging(++count);
}

const char* reason_phrase(unsigned status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 413:
    return "Payload Too Large";
  case 431:
    return "Request Header Fields Too Large";
  default:
    return "Service Unavailable";
  }
}

// The async stream a session reads and writes, and the socket under it.
stream::socket_type& io_of(stream::socket_type& s) {
  return s;
}
asio::ssl::stream<stream::socket_type>& io_of(std::unique_ptr<tls_socket>& t) {
  return t->ssl;
}
stream::socket_type& socket_of(stream::socket_type& s) {
  return s;
}
stream::socket_type& socket_of(std::unique_ptr<tls_socket>& t) {
  return t->ssl.next_layer();
}

} // namespace

/// What an exchange needs of the connection it runs on, whatever the socket type.
class http_session_base : public std::enable_shared_from_this<http_session_base> {
public:
  virtual ~http_session_base() = default;

  /// Writes `f` as a line of the current response; the RESULT for its cookie ends it.
  virtual void exchange_send(protocol::frame f) = 0;

  /// Ends the current response: after what is queued (`flush`), or at once with the connection.
  virtual void exchange_close(bool flush, std::string reason) = 0;

  /// Answers the current request `400` with `reason` (its packet cannot be answered).
  virtual void exchange_reject(std::string reason) = 0;

  /// Ends the current response as answered (a `200`, empty when nothing was written).
  virtual void exchange_finish(std::string reason) = 0;

  /// Closes the connection now.
  virtual void close_now() = 0;

  /// The executor every handler of the connection runs on.
  virtual asio::any_io_executor executor() = 0;
};

namespace {

/// One request of an HTTP client: the channel of its connection actor.
class http_exchange final : public channel, public std::enable_shared_from_this<http_exchange> {
public:
  http_exchange(std::shared_ptr<http_session_base> session, protocol::frame request,
                std::string name, bool ends_when_taken)
      : channel(std::move(name)), session_(std::move(session)), request_(std::move(request)),
        ends_when_taken_(ends_when_taken) {}

  void start(handlers h) override {
    asio::post(session_->executor(), [self = shared_from_this(), h = std::move(h)]() mutable {
      self->handlers_ = std::move(h);
      self->started_ = true;
      if (self->ended_) {
        self->handlers_.on_closed(self->end_reason_);
        return;
      }
      std::vector<protocol::frame> frames;
      frames.push_back(std::move(self->request_));
      self->handlers_.on_frames(std::move(frames));
    });
  }

  void send(protocol::frame f) override {
    if (!ended_)
      session_->exchange_send(std::move(f));
  }

  void consumed() override {
    // A detached RUN gets no RESULT: its request ends once the node has taken it (an answer the
    // connection gave at once, such as BAD_PACKET, is written before this).
    if (ends_when_taken_ && !ended_ && !rejected_)
      session_->exchange_finish("the detached run was taken");
  }

  void close_after_flush() override {
    asio::post(session_->executor(), [self = shared_from_this()] {
      if (!self->ended_)
        self->session_->exchange_close(true, "closed by the broker");
    });
  }

  void close(std::string reason) override {
    asio::post(session_->executor(), [self = shared_from_this(), reason = std::move(reason)] {
      if (!self->ended_)
        self->session_->exchange_close(false, reason);
    });
  }

  void reject(std::string reason) override {
    // Before the batch's consumed(): a rejected detached RUN was not taken.
    rejected_ = true;
    asio::post(session_->executor(), [self = shared_from_this(), reason = std::move(reason)] {
      if (!self->ended_)
        self->session_->exchange_reject(reason);
    });
  }

  bool one_request() const noexcept override { return true; }

  /// The request is over (answered, or its connection ended): tells the connection actor once.
  void ended(std::string reason) {
    if (ended_)
      return;
    ended_ = true;
    if (started_)
      handlers_.on_closed(std::move(reason));
    else
      end_reason_ = std::move(reason);
  }

private:
  std::shared_ptr<http_session_base> session_;
  protocol::frame request_;
  handlers handlers_;
  std::string end_reason_;
  bool ends_when_taken_;
  bool rejected_ = false;
  bool started_ = false;
  bool ended_ = false;
};

/// One HTTP connection, plain (`Socket` = stream::socket_type) or TLS.
template <class Socket>
class http_session final : public http_session_base {
public:
  http_session(Socket socket, stream::limits lim, std::string name,
               listener::accept_handler on_accept, std::shared_ptr<http_sessions> sessions)
      : socket_(std::move(socket)), timer_(socket_of(socket_).get_executor()),
        buffer_(max_header_bytes + lim.max_frame_size + watch_bytes), limits_(lim),
        name_(std::move(name)), on_accept_(std::move(on_accept)), sessions_(std::move(sessions)) {}

  ~http_session() override { sessions_->closed(); }

  void start() { read_request(); }

  void exchange_send(protocol::frame f) override {
    if (!exchange_ || closed_)
      return;
    // A request's one cookie is all its client hears about: its first RESULT is the last line.
    bool last = protocol::peek_packet(f).type == protocol::packet_type::result;
    start_response();
    append_line(f.payload());
    if (out_.size() > limits_.max_write_queue) {
      if (worth_logging())
        http_log().warn("{}: closing: {} bytes queued for a client that does not read "
                        "(max-write-queue)",
                        name_, out_.size());
      return close_now();
    }
    if (last)
      finish_exchange("answered");
    flush();
  }

  void exchange_close(bool flush_first, std::string reason) override {
    if (!exchange_ || closed_)
      return;
    keep_alive_ = false;
    if (!headers_sent_) {
      // Refused (connection limit) or the node is stopping: no packet was written yet.
      auto ex = std::move(exchange_);
      ex->ended(reason);
      return reply(503, reason + "\n");
    }
    if (!flush_first)
      return close_now();
    finish_exchange(std::move(reason));
    flush();
  }

  void exchange_reject(std::string reason) override {
    if (!exchange_ || closed_)
      return;
    if (headers_sent_)
      return close_now();
    auto ex = std::move(exchange_);
    ex->ended(reason);
    keep_alive_ = false;
    reply(400,
          "the body must be one JSON packet with a cookie (a RUN or a CANCEL): " + reason + "\n");
  }

  void exchange_finish(std::string reason) override {
    if (!exchange_ || closed_)
      return;
    start_response();
    finish_exchange(std::move(reason));
    flush();
  }

  // After a last response (often an error before the request was read whole): stop sending, read
  // and drop what the client still sends, then close, so that unread bytes do not turn the close
  // into a reset that loses the response. Bounded in time and bytes.
  void close_gently() {
    if (closed_ || watching_)
      return close_now();
    boost::system::error_code ignored;
    socket_of(socket_).shutdown(asio::socket_base::shutdown_send, ignored);
    timer_.expires_after(std::chrono::milliseconds{500});
    timer_.async_wait([self = self()](boost::system::error_code ec) {
      if (!ec)
        self->close_now();
    });
    buffer_.consume(buffer_.size());
    drain_input(1u << 20);
  }

  void drain_input(std::size_t budget) {
    if (closed_ || budget == 0)
      return close_now();
    socket_of(socket_).async_read_some(
        buffer_.prepare(std::min<std::size_t>(watch_bytes, buffer_.max_size())),
        [self = self(), budget](boost::system::error_code ec, std::size_t n) {
          if (ec)
            return self->close_now();
          self->buffer_.consume(self->buffer_.size());
          self->drain_input(budget > n ? budget - n : 0);
        });
  }

  void close_now() override {
    if (closed_)
      return;
    closed_ = true;
    timer_.cancel();
    if (auto ex = std::move(exchange_))
      ex->ended("the HTTP connection closed");
    boost::system::error_code ignored;
    socket_of(socket_).close(ignored);
  }

  asio::any_io_executor executor() override { return socket_of(socket_).get_executor(); }

private:
  std::shared_ptr<http_session> self() {
    return std::static_pointer_cast<http_session>(shared_from_this());
  }

  // One deadline for the whole next request (bytes arriving one by one do not extend it).
  void arm_request_deadline() {
    auto wait = limits_.first_packet_timeout.count() > 0 ? limits_.first_packet_timeout
                                                         : limits_.idle_timeout;
    if (wait.count() <= 0)
      return;
    timer_.expires_after(wait);
    timer_.async_wait([self = self()](boost::system::error_code ec) {
      if (!ec && !self->exchange_)
        self->close_now();
    });
  }

  void read_request() {
    if (closed_)
      return;
    if (sessions_->stopped())
      return close_now();
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(limits_.max_frame_size);
    arm_request_deadline();
    http::async_read_header(
        io_of(socket_), buffer_, *parser_,
        [self = self()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  // curl and other clients ask `Expect: 100-continue` before a larger body and wait (curl about
  // a second) unless told to go on.
  void on_header(const beast::error_code& ec) {
    if (closed_)
      return;
    if (ec) {
      timer_.cancel();
      return on_read_error(ec);
    }
    auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue") && !parser_->is_done()) {
      continue_sent_ = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      asio::async_write(io_of(socket_), asio::buffer(*continue_sent_),
                        [self = self()](boost::system::error_code ec, std::size_t) {
                          if (ec)
                            return self->close_now();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    if (closed_)
      return;
    http::async_read(io_of(socket_), buffer_, *parser_,
                     [self = self()](beast::error_code ec, std::size_t) { self->on_request(ec); });
  }

  void on_request(const beast::error_code& ec) {
    timer_.cancel();
    if (closed_)
      return;
    if (ec)
      return on_read_error(ec);
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    chunked_ = req.version() >= 11;
    if (req.method() != http::verb::post)
      return refuse(http_refusal::wrong_method, 405,
                    "use POST /v1/stream/stream with one JSON packet as the body\n");
    auto target = std::string_view{req.target().data(), req.target().size()};
    if (target.substr(0, target.find('?')) != stream_path)
      return refuse(http_refusal::wrong_path, 404,
                    "the broker serves POST /v1/stream/stream only\n");
    protocol::frame request{std::string_view{req.body()}};
    parser_.reset(); // the frame holds the body now: one copy while the request runs
    // Only what frames the exchange is looked at here: the connection reads the packet whole
    // (a large one off the I/O thread) and answers what is wrong with it.
    auto peek = protocol::peek_packet(request);
    if (!peek.cookie && request.payload().size() <= small_body_bytes)
      peek.cookie = protocol::read_packet(request).fields.cookie; // as a socket peer's is found
    if (!peek.cookie) {
      if (worth_logging())
        http_log().warn("{}: answered 400: a body without a readable cookie", name_);
      keep_alive_ = false;
      return refuse(http_refusal::no_cookie, 400,
                    "the body must be one JSON packet with a cookie (a RUN or a CANCEL)\n");
    }
    bool detached_run = peek.type == protocol::packet_type::run && peek.detach;
    exchange_ = std::make_shared<http_exchange>(shared_from_this(), std::move(request), name_,
                                                detached_run);
    headers_sent_ = false;
    watch();
    on_accept_(exchange_);
  }

  void on_read_error(const beast::error_code& ec) {
    unsigned status = 0;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      status = 431;
    else if (ec == http::error::body_limit)
      status = 413;
    else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
             ec != http::error::end_of_stream && ec != http::error::partial_message)
      status = 400;
    if (status == 0)
      return close_now(); // the client closed, timed out, or the socket failed
    if (worth_logging())
      http_log().warn("{}: answered {}: {}", name_, status, ec.message());
    keep_alive_ = false;
    refuse(status == 400 ? http_refusal::malformed : http_refusal::too_large, status,
           status == 413 ? "the body is larger than max-frame-size (" +
                               std::to_string(limits_.max_frame_size) + " bytes)\n"
                         : "malformed HTTP request: " + ec.message() + "\n");
  }

  // While a request runs, a read notices the client going away; bytes it gets (a pipelined next
  // request) wait in the buffer until the response is over.
  void watch() {
    if (watching_ || closed_)
      return;
    // The buffer is bounded: a client that fills it with pipelined bytes is no longer watched
    // (it holds at most the buffer and its one request).
    auto room = std::min(watch_bytes, buffer_.max_size() - buffer_.size());
    if (room == 0)
      return;
    watching_ = true;
    io_of(socket_).async_read_some(
        buffer_.prepare(room), [self = self()](boost::system::error_code ec, std::size_t n) {
          self->watching_ = false;
          if (self->closed_)
            return;
          if (ec) {
            if (auto ex = std::move(self->exchange_))
              ex->ended("the HTTP client disconnected");
            return self->close_now();
          }
          self->buffer_.commit(n);
          if (self->next_request_waits_) {
            self->next_request_waits_ = false;
            self->read_request();
          } else if (self->exchange_) {
            self->watch(); // bytes that came early do not stop the watch for the end
          }
        });
  }

  void start_response() {
    if (headers_sent_)
      return;
    headers_sent_ = true;
    out_ += "HTTP/1.1 200 OK\r\nServer: rcbroker\r\nContent-Type: application/octet-stream\r\n"
            "Cache-Control: no-store\r\n";
    if (chunked_)
      out_ += "Transfer-Encoding: chunked\r\n";
    else
      keep_alive_ = false; // an HTTP/1.0 body ends when the connection does
    if (!keep_alive_)
      out_ += "Connection: close\r\n";
    out_ += "\r\n";
  }

  void append_line(std::string_view packet) {
    if (chunked_) {
      char size[24];
      std::snprintf(size, sizeof size, "%zx\r\n", packet.size() + 1);
      out_ += size;
    }
    out_ += packet;
    out_ += '\n';
    if (chunked_)
      out_ += "\r\n";
  }

  void finish_exchange(std::string reason) {
    if (chunked_)
      out_ += "0\r\n\r\n";
    response_done_ = true;
    if (auto ex = std::move(exchange_))
      ex->ended(std::move(reason));
  }

  /// Answers an error `status` that no packet reached the node for, and counts it by `reason`.
  void refuse(http_refusal reason, unsigned status, std::string body) {
    sessions_->refused(reason);
    reply(status, std::move(body));
  }

  void reply(unsigned status, std::string body) {
    out_ += "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
            "\r\nServer: rcbroker\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Cache-Control: no-store\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n";
    if (status == 405)
      out_ += "Allow: POST\r\n";
    if (!keep_alive_)
      out_ += "Connection: close\r\n";
    out_ += "\r\n";
    out_ += body;
    response_done_ = true;
    flush();
  }

  void flush() {
    if (writing_ || out_.empty() || closed_)
      return;
    writing_ = true;
    in_flight_.swap(out_);
    out_.clear();
    asio::async_write(
        io_of(socket_), asio::buffer(in_flight_),
        [self = self()](boost::system::error_code ec, std::size_t) { self->on_written(ec); });
  }

  void on_written(const boost::system::error_code& ec) {
    writing_ = false;
    in_flight_.clear();
    if (closed_)
      return;
    if (ec) {
      if (auto ex = std::move(exchange_))
        ex->ended("the HTTP client stopped reading: " + ec.message());
      return close_now();
    }
    if (!out_.empty())
      return flush();
    if (!response_done_)
      return;
    response_done_ = false;
    if (!keep_alive_)
      return close_gently();
    if (watching_) {
      // The watch's read is still under way: the next request starts when it returns.
      next_request_waits_ = true;
      arm_request_deadline();
      return;
    }
    read_request();
  }

  Socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  stream::limits limits_;
  std::string name_;
  listener::accept_handler on_accept_;
  std::shared_ptr<http_sessions> sessions_;
  std::shared_ptr<http_exchange> exchange_; // the request under way, if any
  std::string out_;                         // bytes for the next write
  std::string in_flight_;                   // bytes of the write under way
  bool writing_ = false;
  bool headers_sent_ = false; // of the current response
  bool response_done_ = false;
  bool chunked_ = true;
  bool keep_alive_ = true;
  bool watching_ = false;
  bool next_request_waits_ = false;
  std::shared_ptr<std::string> continue_sent_; // "100 Continue" while it is written
  bool closed_ = false;
};

template <class Socket>
void start_session(Socket socket, stream::limits lim, std::string name,
                   listener::accept_handler on_accept, std::shared_ptr<http_sessions> sessions) {
  if (!sessions->admit()) {
    sessions->refused(http_refusal::over_limit);
    if (worth_logging())
      http_log().warn("{}: closed: the HTTP endpoint has max-client-connections connections open",
                      name);
    boost::system::error_code ignored;
    socket_of(socket).close(ignored);
    return;
  }
  auto s = std::make_shared<http_session<Socket>>(std::move(socket), lim, std::move(name),
                                                  std::move(on_accept), sessions);
  sessions->add(s);
  s->start();
}

} // namespace

bool http_sessions::admit() {
  if (max_open_ > 0 && open_.load() >= max_open_)
    return false;
  ++open_;
  return true;
}

void http_sessions::add(const std::shared_ptr<http_session_base>& s) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (stopped_) {
    asio::post(s->executor(), [s] { s->close_now(); });
    return;
  }
  // Forget the ended ones now and then, so the list stays as long as the open connections.
  if (sessions_.size() >= 64 && (sessions_.size() & (sessions_.size() - 1)) == 0)
    sessions_.erase(
        std::remove_if(sessions_.begin(), sessions_.end(), [](auto& w) { return w.expired(); }),
        sessions_.end());
  sessions_.push_back(s);
}

void http_sessions::stop_all() {
  std::vector<std::weak_ptr<http_session_base>> open;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopped_ = true;
    open.swap(sessions_);
  }
  for (auto& w : open) {
    if (auto s = w.lock())
      asio::post(s->executor(), [s] { s->close_now(); });
  }
}

std::vector<std::uint64_t> http_sessions::refusals() const {
  std::vector<std::uint64_t> out;
  for (auto& n : refused_)
    out.push_back(n.load(std::memory_order_relaxed));
  return out;
}

bool http_sessions::stopped() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return stopped_;
}

void serve_http(stream::socket_type socket, stream::limits lim, std::string name,
                listener::accept_handler on_accept, std::shared_ptr<http_sessions> sessions) {
  start_session(std::move(socket), lim, std::move(name), std::move(on_accept), std::move(sessions));
}

void serve_http(std::unique_ptr<tls_socket> tls, stream::limits lim, std::string name,
                listener::accept_handler on_accept, std::shared_ptr<http_sessions> sessions) {
  start_session(std::move(tls), lim, std::move(name), std::move(on_accept), std::move(sessions));
}

} // namespace rcbroker::transport

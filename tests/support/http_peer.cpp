#include "http_peer.hpp"

#include "rcbroker/transport/endpoint.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>

namespace rcbroker::test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::vector<std::string> http_reply::lines() const {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < body.size()) {
    auto end = body.find('\n', start);
    if (end == std::string::npos)
      end = body.size();
    out.push_back(body.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

struct http_peer::impl {
  asio::io_context ioc;
  asio::ip::tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  std::string host;

  void set_read_timeout(int timeout_ms) {
    timeval tv{};
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
};

http_peer::http_peer(const std::string& url) : impl_(std::make_unique<impl>()) {
  auto parsed = transport::parse_endpoint(url, 0);
  if (!parsed.value)
    throw std::runtime_error(parsed.error);
  asio::ip::tcp::resolver resolver{impl_->ioc};
  asio::connect(impl_->socket,
                resolver.resolve(parsed.value->host, std::to_string(parsed.value->port)));
  impl_->host = parsed.value->host;
}

http_peer::~http_peer() = default;
http_peer::http_peer(http_peer&&) noexcept = default;

void http_peer::send_request(std::string_view body, std::string_view target,
                             std::string_view method) {
  std::string request{method};
  request += ' ';
  request += target;
  request +=
      " HTTP/1.1\r\nHost: " + impl_->host +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n";
  request += body;
  send_raw(request);
}

void http_peer::send_raw(std::string_view bytes) {
  asio::write(impl_->socket, asio::buffer(bytes.data(), bytes.size()));
}

std::optional<http_reply> http_peer::read_reply(int timeout_ms) {
  impl_->set_read_timeout(timeout_ms);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u * 1024u * 1024u);
  beast::error_code ec;
  http::read(impl_->socket, impl_->buffer, parser, ec);
  if (ec)
    return std::nullopt;
  auto& res = parser.get();
  http_reply reply;
  reply.status = res.result_int();
  reply.content_type = std::string{res[http::field::content_type]};
  reply.chunked = res.chunked();
  reply.keep_alive = res.keep_alive();
  reply.body = std::move(res.body());
  return reply;
}

http_reply http_peer::post(std::string_view body, std::string_view target,
                           std::string_view method) {
  send_request(body, target, method);
  auto reply = read_reply();
  if (!reply)
    throw std::runtime_error("no HTTP response within 5 s");
  return std::move(*reply);
}

bool http_peer::closed_by_peer(int timeout_ms) {
  int fd = impl_->socket.native_handle();
  char scratch[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0)
      return false;
    auto n = ::recv(fd, scratch, sizeof scratch, 0);
    if (n <= 0)
      return true;
  }
}

void http_peer::close() {
  boost::system::error_code ignored;
  impl_->socket.close(ignored);
}

} // namespace rcbroker::test_support

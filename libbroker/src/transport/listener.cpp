#include "broker/transport/listener.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace broker::transport {

namespace asio = boost::asio;
using generic_protocol = asio::generic::stream_protocol;

namespace {

std::string describe(const generic_protocol::endpoint& ep, bool is_tcp) {
  if (!is_tcp)
    return "unix";
  auto* sa = ep.data();
  char host[64] = "?";
  unsigned port = 0;
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    asio::ip::address_v4 a{ntohl(in->sin_addr.s_addr)};
    std::snprintf(host, sizeof host, "%s", a.to_string().c_str());
    port = ntohs(in->sin_port);
    return "tcp " + std::string{host} + ":" + std::to_string(port);
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &in6->sin6_addr, 16);
    return "tcp [" + asio::ip::address_v6{bytes}.to_string() +
           "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "tcp";
}

void remove_stale_socket_file(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return;
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error(path +
                             " exists and is not a socket; remove it or choose another path");
  ::unlink(path.c_str());
}

} // namespace

listener::listener(asio::io_context& ioc, endpoint ep, stream::limits lim)
    : ioc_(ioc), endpoint_(std::move(ep)), limits_(lim), acceptor_(asio::make_strand(ioc)),
      retry_timer_(acceptor_.get_executor()) {
  boost::system::error_code ec;
  generic_protocol::endpoint bind_to;
  if (endpoint_.type == endpoint::kind::tcp) {
    asio::ip::tcp::resolver resolver{ioc};
    auto results = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port),
                                    asio::ip::tcp::resolver::passive, ec);
    if (ec || results.empty())
      throw std::runtime_error("cannot resolve " + endpoint_.to_string() + ": " +
                               (ec ? ec.message() : "no address"));
    bind_to = generic_protocol::endpoint{results.begin()->endpoint()};
  } else {
    remove_stale_socket_file(endpoint_.path);
    bind_to = generic_protocol::endpoint{asio::local::stream_protocol::endpoint{endpoint_.path}};
  }
  auto fail = [&](const char* what) {
    throw std::runtime_error(std::string{"cannot "} + what + " " + endpoint_.to_string() + ": " +
                             ec.message());
  };
  acceptor_.open(bind_to.protocol(), ec);
  if (ec)
    fail("open a socket for");
  if (endpoint_.type == endpoint::kind::tcp)
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor_.bind(bind_to, ec);
  if (ec)
    fail("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    fail("listen on");
  if (endpoint_.type == endpoint::kind::tcp) {
    auto local = acceptor_.local_endpoint(ec);
    auto* sa = local.data();
    if (sa->sa_family == AF_INET)
      bound_port_ = ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
    else if (sa->sa_family == AF_INET6)
      bound_port_ = ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  }
}

listener::~listener() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

std::string listener::bound_url() const {
  if (endpoint_.type == endpoint::kind::unix_socket)
    return endpoint_.to_string();
  auto ep = endpoint_;
  ep.port = bound_port_;
  return ep.to_string();
}

void listener::start(accept_handler on_accept) {
  asio::post(acceptor_.get_executor(), [self = shared_from_this(), h = std::move(on_accept)] {
    self->on_accept_ = std::move(h);
    self->accept_next();
  });
}

void listener::accept_next() {
  if (stopped_)
    return;
  acceptor_.async_accept(asio::make_strand(ioc_), [self = shared_from_this()](
                                                      boost::system::error_code ec,
                                                      generic_protocol::socket sock) {
    if (self->stopped_)
      return;
    if (!ec) {
      bool is_tcp = self->endpoint_.type == endpoint::kind::tcp;
      boost::system::error_code ignored;
      if (is_tcp) {
        sock.set_option(asio::ip::tcp::no_delay(true), ignored);
        sock.set_option(asio::socket_base::keep_alive(true), ignored);
      }
      auto name = describe(sock.remote_endpoint(ignored), is_tcp);
      self->on_accept_(std::make_shared<stream>(std::move(sock), self->limits_, std::move(name)));
    } else if (ec == asio::error::operation_aborted) {
      return;
    } else {
      // EMFILE and the like pass: retry after a pause instead of spinning on the error.
      self->retry_timer_.expires_after(std::chrono::milliseconds(100));
      self->retry_timer_.async_wait([self](boost::system::error_code) { self->accept_next(); });
      return;
    }
    self->accept_next();
  });
}

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    if (self->stopped_)
      return;
    self->stopped_ = true;
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
    if (self->endpoint_.type == endpoint::kind::unix_socket)
      ::unlink(self->endpoint_.path.c_str());
  });
}

} // namespace broker::transport

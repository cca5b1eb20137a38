#include "rcbroker/transport/socket_listener.hpp"

#include "http_session.hpp"
#include "rcbroker/logging/component.hpp"
#include "rcbroker/logging/repeated.hpp"
#include "tls_socket.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace rcbroker::transport {

namespace asio = boost::asio;
using generic_protocol = asio::generic::stream_protocol;

namespace {

// `scheme` is "tcp" or "tls"; empty for a Unix-domain socket.
std::string describe(const generic_protocol::endpoint& ep, const std::string& scheme) {
  if (scheme.empty())
    return "unix";
  auto* sa = ep.data();
  char host[64] = "?";
  unsigned port = 0;
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    asio::ip::address_v4 a{ntohl(in->sin_addr.s_addr)};
    std::snprintf(host, sizeof host, "%s", a.to_string().c_str());
    port = ntohs(in->sin_port);
    return scheme + " " + std::string{host} + ":" + std::to_string(port);
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &in6->sin6_addr, 16);
    return scheme + " [" + asio::ip::address_v6{bytes}.to_string() +
           "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return scheme;
}

/// A TLS handshake under way, with its deadline; both run on the socket's strand.
struct handshake_state {
  handshake_state(stream::socket_type socket, asio::ssl::context& context, std::string peer)
      : tls(std::make_unique<tls_socket>(std::move(socket), context)),
        deadline(tls->ssl.get_executor()), name(std::move(peer)) {}

  std::unique_ptr<tls_socket> tls;
  asio::steady_timer deadline;
  std::string name;
  bool timed_out = false;
};

// Whether a process accepts connections on the Unix socket file `path` (errno of the attempt
// in `error` otherwise). Non-blocking: a live node with a full backlog answers EAGAIN at once.
bool someone_listens(const std::string& path, int& error) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno;
    return false;
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  error = connected ? 0 : errno;
  ::close(fd);
  return connected || error == EAGAIN || error == EINPROGRESS;
}

// Only a socket file nobody listens on is removed: unlinking a live node's file would take the
// new clients of that node, which would go on running without them.
void remove_stale_socket_file(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return;
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error(path +
                             " exists and is not a socket; remove it or choose another path");
  int error = 0;
  if (someone_listens(path, error))
    throw std::runtime_error("another process is listening on socket://" + path +
                             "; stop it or choose another path");
  if (error != ECONNREFUSED && error != ENOENT)
    throw std::runtime_error("cannot tell whether another process is listening on socket://" +
                             path + " (connect: " + std::strerror(error) +
                             "); remove the file if it is stale, or choose another path");
  ::unlink(path.c_str());
}

} // namespace

socket_listener::socket_listener(asio::io_context& ioc, endpoint ep, stream::limits lim,
                                 listener_options opts)
    : ioc_(ioc), endpoint_(std::move(ep)), limits_(lim), options_(std::move(opts)),
      acceptor_(asio::make_strand(ioc)), retry_timer_(acceptor_.get_executor()) {
  if (endpoint_.type == endpoint::kind::http || endpoint_.type == endpoint::kind::https)
    http_sessions_ = std::make_shared<http_sessions>(options_.max_http_connections);
  if (endpoint_.uses_tls() && !options_.tls)
    throw std::runtime_error(endpoint_.to_string() + " needs a TLS certificate and key (tls-cert, "
                                                     "tls-key)");
  boost::system::error_code ec;
  generic_protocol::endpoint bind_to;
  if (endpoint_.is_tcp()) {
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
  if (endpoint_.is_tcp())
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor_.bind(bind_to, ec);
  if (ec)
    fail("bind");
  // Before listen: no peer can connect while the file still has the umask's permissions.
  if (endpoint_.type == endpoint::kind::unix_socket &&
      ::chmod(endpoint_.path.c_str(), static_cast<mode_t>(options_.unix_socket_mode)) != 0) {
    ec.assign(errno, boost::system::system_category());
    fail("set the permissions (unix-socket-mode) of");
  }
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    fail("listen on");
  if (endpoint_.is_tcp()) {
    auto local = acceptor_.local_endpoint(ec);
    auto* sa = local.data();
    if (sa->sa_family == AF_INET)
      bound_port_ = ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
    else if (sa->sa_family == AF_INET6)
      bound_port_ = ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  }
}

socket_listener::~socket_listener() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

std::string socket_listener::bound_url() const {
  if (endpoint_.type == endpoint::kind::unix_socket)
    return endpoint_.to_string();
  auto ep = endpoint_;
  ep.port = bound_port_;
  return ep.to_string();
}

void socket_listener::start(accept_handler on_accept) {
  asio::post(acceptor_.get_executor(), [self = shared_from_this(), h = std::move(on_accept)] {
    self->on_accept_ = std::move(h);
    self->accept_next();
  });
}

void socket_listener::accept_next() {
  if (stopped_)
    return;
  acceptor_.async_accept(ioc_, [self = shared_from_this()](boost::system::error_code ec,
                                                           generic_protocol::socket sock) {
    if (self->stopped_)
      return;
    if (!ec) {
      auto& where = self->endpoint_;
      boost::system::error_code ignored;
      if (where.is_tcp()) {
        sock.set_option(asio::ip::tcp::no_delay(true), ignored);
        sock.set_option(asio::socket_base::keep_alive(true), ignored);
      }
      auto name = describe(sock.remote_endpoint(ignored), where.is_tcp() ? where.scheme() : "");
      if (where.uses_tls())
        self->handshake(std::move(sock), std::move(name));
      else if (self->http_sessions_)
        serve_http(std::move(sock), self->limits_, std::move(name), self->on_accept_,
                   self->http_sessions_);
      else
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

void socket_listener::handshake(stream::socket_type socket, std::string name) {
  auto hs = std::make_shared<handshake_state>(std::move(socket), *options_.tls, std::move(name));
  hs->deadline.expires_after(options_.tls_handshake_timeout);
  hs->deadline.async_wait([hs](boost::system::error_code ec) {
    if (ec)
      return;
    hs->timed_out = true;
    boost::system::error_code ignored;
    hs->tls->ssl.next_layer().close(ignored);
  });
  hs->tls->ssl.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this(),
                                                                hs](boost::system::error_code ec) {
    hs->deadline.cancel();
    if (ec || hs->timed_out) {
      auto timeout_ms = self->options_.tls_handshake_timeout.count();
      self->handshake_failed(hs->name, hs->timed_out
                                           ? "not done within " + std::to_string(timeout_ms) + " ms"
                                           : ec.message());
      boost::system::error_code ignored;
      hs->tls->ssl.next_layer().close(ignored);
      return;
    }
    // on_accept_ and stopped_ belong to the acceptor's strand.
    asio::post(self->acceptor_.get_executor(), [self, hs] {
      if (self->stopped_) {
        boost::system::error_code ignored;
        hs->tls->ssl.next_layer().close(ignored);
      } else if (self->http_sessions_) {
        serve_http(std::move(hs->tls), self->limits_, std::move(hs->name), self->on_accept_,
                   self->http_sessions_);
      } else {
        self->on_accept_(
            std::make_shared<stream>(std::move(hs->tls), self->limits_, std::move(hs->name)));
      }
    });
  });
}

std::vector<std::uint64_t> socket_listener::http_refusals() const {
  return http_sessions_ ? http_sessions_->refusals() : std::vector<std::uint64_t>{};
}

std::optional<std::uint64_t> socket_listener::handshake_failures() const {
  if (!endpoint_.uses_tls())
    return std::nullopt;
  return handshake_failures_.load(std::memory_order_relaxed);
}

void socket_listener::handshake_failed(const std::string& name, const std::string& reason) {
  // A port scanner or a plain-TCP peer fails here at every attempt.
  auto n = ++handshake_failures_;
  if (logging::worth_logging(n))
    logging::logger(logging::component::broker)
        .warn("{}: TLS handshake failed ({}); closed [{} on {} so far]", name, reason, n,
              endpoint_.to_string());
}

void socket_listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    if (self->stopped_)
      return;
    self->stopped_ = true;
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
    if (self->http_sessions_)
      self->http_sessions_->stop_all();
    if (self->endpoint_.type == endpoint::kind::unix_socket)
      ::unlink(self->endpoint_.path.c_str());
  });
}

} // namespace rcbroker::transport

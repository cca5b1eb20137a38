#include "net.hpp"

#include "rcbroker/transport/tls_context.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdexcept>
#include <stdlib.h>

namespace rcbench {

namespace asio = boost::asio;
using generic = asio::generic::stream_protocol;

rcbroker::transport::endpoint parse_url(const std::string& url, std::uint16_t default_port) {
  auto parsed = rcbroker::transport::parse_endpoint(url, default_port);
  if (!parsed.value)
    throw std::invalid_argument(parsed.error);
  if (!parsed.value->is_framed())
    throw std::invalid_argument("rcbench connects over tcp://, tls:// or socket://, not " + url);
  return *parsed.value;
}

std::shared_ptr<asio::ssl::context>
client_tls_context(const std::vector<rcbroker::transport::endpoint>& endpoints,
                   const rcbroker::transport::tls_client_files& files) {
  for (const auto& ep : endpoints)
    if (ep.type == rcbroker::transport::endpoint::kind::tls)
      return rcbroker::transport::make_tls_client_context(files);
  return nullptr;
}

bench_socket connect_to(asio::io_context& ioc, const rcbroker::transport::endpoint& ep,
                        asio::ssl::context* tls) {
  socket_type socket{ioc};
  boost::system::error_code ec;
  if (ep.type == rcbroker::transport::endpoint::kind::unix_socket) {
    socket.connect(generic::endpoint{asio::local::stream_protocol::endpoint{ep.path}}, ec);
  } else {
    asio::ip::tcp::resolver resolver{ioc};
    auto results = resolver.resolve(ep.host, std::to_string(ep.port),
                                    asio::ip::tcp::resolver::numeric_service, ec);
    if (!ec) {
      ec = asio::error::host_not_found;
      for (auto& r : results) {
        boost::system::error_code ignored;
        socket.close(ignored);
        socket.connect(generic::endpoint{r.endpoint()}, ec);
        if (!ec)
          break;
      }
    }
    if (!ec)
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
  }
  if (ec)
    throw std::runtime_error("cannot connect to " + ep.to_string() + ": " + ec.message());
  if (ep.type != rcbroker::transport::endpoint::kind::tls)
    return bench_socket{std::move(socket)};
  if (!tls)
    throw std::runtime_error(ep.to_string() + " needs a TLS client context");
  auto session = std::make_unique<bench_socket::tls_type>(std::move(socket), *tls);
  rcbroker::transport::verify_host(session->native_handle(), ep.host);
  session->handshake(asio::ssl::stream_base::client, ec);
  if (ec) {
    auto verify = ::SSL_get_verify_result(session->native_handle());
    throw std::runtime_error("TLS handshake with " + ep.to_string() + " failed: " +
                             (verify != X509_V_OK
                                  ? std::string{"certificate verify failed: "} +
                                        ::X509_verify_cert_error_string(verify) + " (see --tls-ca)"
                                  : ec.message()));
  }
  return bench_socket{std::move(session)};
}

acceptor_type listen_on(asio::io_context& ioc, rcbroker::transport::endpoint& ep) {
  acceptor_type acceptor{ioc};
  boost::system::error_code ec;
  generic::endpoint at;
  if (ep.type == rcbroker::transport::endpoint::kind::unix_socket)
    at = generic::endpoint{asio::local::stream_protocol::endpoint{ep.path}};
  else
    at = generic::endpoint{asio::ip::tcp::endpoint{asio::ip::address_v4::loopback(), 0}};
  acceptor.open(at.protocol(), ec);
  if (!ec)
    acceptor.bind(at, ec);
  if (!ec)
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + ep.to_string() + ": " + ec.message());
  if (ep.type == rcbroker::transport::endpoint::kind::tcp) {
    auto local = acceptor.local_endpoint();
    ep.host = "127.0.0.1";
    ep.port = ntohs(reinterpret_cast<const sockaddr_in*>(local.data())->sin_port);
  }
  return acceptor;
}

std::string make_socket_folder() {
  char pattern[] = "/tmp/rcbench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr)
    throw std::runtime_error("cannot create a folder in /tmp for Unix sockets");
  return pattern;
}

void remove_folder(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

} // namespace rcbench

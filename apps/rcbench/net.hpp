#pragma once

#include "bench_socket.hpp"
#include "rcbroker/transport/endpoint.hpp"
#include "rcbroker/transport/tls_context.hpp"

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

namespace rcbench {

/// A TCP or Unix-domain stream socket.
using socket_type = boost::asio::generic::stream_protocol::socket;

/// A listening TCP or Unix-domain socket.
using acceptor_type = boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol>;

/// Parses an endpoint URL; throws std::invalid_argument with the parser's message.
rcbroker::transport::endpoint parse_url(const std::string& url, std::uint16_t default_port);

/// The TLS client context with `files` when one of `endpoints` is tls:// (else null); throws
/// std::runtime_error naming a file that cannot be used.
std::shared_ptr<boost::asio::ssl::context>
client_tls_context(const std::vector<rcbroker::transport::endpoint>& endpoints,
                   const rcbroker::transport::tls_client_files& files);

/// Connects a socket of `ioc` to `ep` (blocking; TCP_NODELAY on TCP; on a tls:// endpoint, then
/// a TLS handshake with `tls` that verifies the node's certificate for `ep`'s host); throws
/// std::runtime_error naming the endpoint when it cannot.
bench_socket connect_to(boost::asio::io_context& ioc, const rcbroker::transport::endpoint& ep,
                        boost::asio::ssl::context* tls);

/// Binds and listens on `ep` (127.0.0.1 and a Unix path only, the direct mode's endpoints);
/// `ep.port` is updated to the port the kernel chose. Throws std::runtime_error on failure.
acceptor_type listen_on(boost::asio::io_context& ioc, rcbroker::transport::endpoint& ep);

/// A fresh private folder under /tmp for Unix sockets (removed by remove_folder).
std::string make_socket_folder();

/// Removes `path` and what it holds; errors are ignored.
void remove_folder(const std::string& path);

} // namespace rcbench

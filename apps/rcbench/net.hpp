#pragma once

#include "rcbroker/transport/endpoint.hpp"

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <string>

namespace rcbench {

/// A TCP or Unix-domain stream socket.
using socket_type = boost::asio::generic::stream_protocol::socket;

/// A listening TCP or Unix-domain socket.
using acceptor_type = boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol>;

/// Parses an endpoint URL; throws std::invalid_argument with the parser's message.
rcbroker::transport::endpoint parse_url(const std::string& url, std::uint16_t default_port);

/// Connects a socket of `ioc` to `ep` (blocking; TCP_NODELAY on TCP); throws std::runtime_error
/// naming the endpoint when it cannot.
socket_type connect_to(boost::asio::io_context& ioc, const rcbroker::transport::endpoint& ep);

/// Binds and listens on `ep` (127.0.0.1 and a Unix path only, the direct mode's endpoints);
/// `ep.port` is updated to the port the kernel chose. Throws std::runtime_error on failure.
acceptor_type listen_on(boost::asio::io_context& ioc, rcbroker::transport::endpoint& ep);

/// A fresh private folder under /tmp for Unix sockets (removed by remove_folder).
std::string make_socket_folder();

/// Removes `path` and what it holds; errors are ignored.
void remove_folder(const std::string& path);

} // namespace rcbench

#include "direct_listener.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <iostream>

namespace rcbench {

direct_listener::direct_listener(boost::asio::io_context& ioc, rcbroker::transport::endpoint& where,
                                 unsigned expected, const frame_template& result,
                                 std::chrono::milliseconds delay, thread_stats& stats)
    : acceptor_(listen_on(ioc, where)),
      tcp_(where.type == rcbroker::transport::endpoint::kind::tcp), expected_(expected),
      result_(result), delay_(delay), stats_(stats) {
  sessions_.reserve(expected);
}

void direct_listener::start() {
  accept_next();
}

void direct_listener::accept_next() {
  if (sessions_.size() >= expected_)
    return;
  acceptor_.async_accept([this](boost::system::error_code ec, socket_type socket) {
    if (ec) {
      if (ec != boost::asio::error::operation_aborted) {
        stats_.errors.add(1);
        std::cerr << "rcbench: direct worker cannot accept: " << ec.message() << "\n";
      }
      return;
    }
    if (tcp_)
      socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    sessions_.push_back(std::make_unique<bench_worker>(bench_socket{std::move(socket)}, 0, result_,
                                                       delay_, stats_));
    sessions_.back()->start();
    accept_next();
  });
}

} // namespace rcbench

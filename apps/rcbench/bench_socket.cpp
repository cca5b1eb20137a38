#include "bench_socket.hpp"

#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

namespace rcbench {

bool bench_socket::closed_by_peer() {
  auto& s = lowest_layer();
  pollfd p{s.native_handle(), POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0 || (p.revents & (POLLHUP | POLLERR | POLLIN)) == 0)
    return false;
  if ((p.revents & (POLLHUP | POLLERR)) != 0)
    return true;
  if (!tls_) {
    char c;
    return ::recv(p.fd, &c, 1, MSG_PEEK) <= 0;
  }
  boost::system::error_code ec;
  s.non_blocking(true, ec);
  char buf[4096];
  do
    tls_->read_some(boost::asio::buffer(buf), ec);
  while (!ec);
  boost::system::error_code ignored;
  s.non_blocking(false, ignored);
  return ec != boost::asio::error::would_block;
}

std::size_t bench_socket::buffered() const {
  return tls_
             ? static_cast<std::size_t>(::SSL_pending(const_cast<tls_type&>(*tls_).native_handle()))
             : 0;
}

} // namespace rcbench

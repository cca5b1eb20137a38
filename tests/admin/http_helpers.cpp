#include "http_helpers.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace rcbroker::test_support {

std::uint16_t port_of(const std::string& url) {
  auto colon = url.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("no port in " + url);
  return static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1)));
}

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string raw_http(std::uint16_t port, const std::string& request, int timeout_ms) {
  int fd = connect_to(port);
  if (fd < 0)
    throw std::runtime_error("cannot connect to the admin port");
  // The server may answer and close before it read everything (a header over the limit): a
  // failed send is expected then, and what it answered is still to be read.
  std::size_t sent = 0;
  while (sent < request.size()) {
    auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0)
      break;
    reply.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

unsigned status_of(const std::string& bytes) {
  if (bytes.rfind("HTTP/1.1 ", 0) != 0 || bytes.size() < 12)
    return 0;
  return static_cast<unsigned>(std::stoi(bytes.substr(9, 3)));
}

} // namespace rcbroker::test_support

#include "fake_broker.hpp"

#include "rcbroker/protocol/frame.hpp"
#include "test_node.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace rcbroker::test_support {

fake_broker::fake_broker() : dir_(make_temp_dir()), path_(dir_ + "/broker.sock") {
  listen();
}

fake_broker::~fake_broker() {
  stop_listening();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void fake_broker::listen() {
  ::unlink(path_.c_str());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0)
    throw std::runtime_error("fake broker cannot listen on " + path_ + ": " + std::strerror(errno));
}

void fake_broker::stop_listening() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

std::optional<raw_peer> fake_broker::accept(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0)
    return std::nullopt;
  int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  return raw_peer::adopt(fd);
}

} // namespace rcbroker::test_support

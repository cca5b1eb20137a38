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

namespace rcbroker::testing {

fake_peer::fake_peer(fake_peer&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}

fake_peer::~fake_peer() {
  close();
}

void fake_peer::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

void fake_peer::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0)
      throw std::runtime_error(std::string{"send failed: "} + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void fake_peer::send(std::string_view payload) {
  send_raw(protocol::encode_frame(payload));
}

bool fake_peer::fill(std::size_t need, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char chunk[65536];
  while (buffer_.size() < need) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0 || fd_ < 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0)
      return false;
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0)
      return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<std::string> fake_peer::receive(int timeout_ms) {
  if (!fill(4, timeout_ms))
    return std::nullopt;
  auto* h = reinterpret_cast<const unsigned char*>(buffer_.data());
  std::size_t len =
      (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) | (std::size_t{h[2]} << 8) | h[3];
  if (!fill(4 + len, timeout_ms))
    return std::nullopt;
  std::string payload = buffer_.substr(4, len);
  buffer_.erase(0, 4 + len);
  return payload;
}

bool fake_peer::closed_by_peer(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0)
      continue;
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      return true;
  }
  return false;
}

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

std::optional<fake_peer> fake_broker::accept(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0)
    return std::nullopt;
  int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  return fake_peer{fd};
}

} // namespace rcbroker::testing

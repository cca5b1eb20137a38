#include "raw_peer.hpp"

#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/json_string.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "rcbroker/transport/endpoint.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <random>
#include <simdjson.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace rcbroker::test_support {

namespace {

int connect_to(const std::string& url) {
  auto ep = transport::parse_endpoint(url, 0);
  if (!ep.value)
    throw std::runtime_error(ep.error);
  if (ep.value->type == transport::endpoint::kind::unix_socket) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, ep.value->path.c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot connect to " + url + ": " + std::strerror(errno));
    }
    return fd;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto port = std::to_string(ep.value->port);
  if (::getaddrinfo(ep.value->host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    throw std::runtime_error("cannot resolve " + url);
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  if (rc != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to " + url + ": " + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string json_string_or_null(const std::string& s) {
  std::string out;
  protocol::append_json_string(out, s);
  return out;
}

} // namespace

raw_peer::raw_peer(const std::string& url) : fd_(connect_to(url)) {}

raw_peer raw_peer::adopt(int fd) {
  raw_peer peer;
  peer.fd_ = fd;
  return peer;
}

raw_peer::~raw_peer() {
  close();
}

raw_peer::raw_peer(raw_peer&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

void raw_peer::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

void raw_peer::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0)
      throw std::runtime_error(std::string{"send failed: "} + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void raw_peer::send(std::string_view payload) {
  send_raw(protocol::encode_frame(payload));
}

bool raw_peer::fill(std::size_t need, int timeout_ms) {
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

std::optional<std::string> raw_peer::receive(int timeout_ms) {
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

bool raw_peer::closed_by_peer(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      return true;
  }
  return false;
}

std::optional<std::chrono::milliseconds>
connection_lifetime(const std::string& url, std::string_view bytes, int timeout_ms) {
  auto connected = std::chrono::steady_clock::now();
  raw_peer peer{url};
  if (!bytes.empty())
    peer.send_raw(bytes);
  if (!peer.closed_by_peer(timeout_ms))
    return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               connected);
}

std::string original_run(const std::string& cookie, const std::string& pipeline,
                         const std::string& variables_json, bool detach) {
  return R"({"packet_type":"RUN","cookie":")" + cookie + R"(","capacity":null,"pipeline":)" +
         json_string_or_null(pipeline) + R"(,"variables":)" + json_string_or_null(variables_json) +
         R"(,"detach":)" + (detach ? "true" : "false") +
         R"(,"rc":null,"error":null,"stacktrace":null,"result":null})";
}

std::string original_cancel(const std::string& cookie) {
  return R"({"packet_type":"CANCEL","cookie":")" + cookie +
         R"(","capacity":null,"pipeline":null,"variables":null,"detach":null,"rc":null,)"
         R"("error":null,"stacktrace":null,"result":null})";
}

std::string original_register(int capacity) {
  return R"({"packet_type":"REGISTER","cookie":null,"capacity":)" + std::to_string(capacity) +
         R"(,"pipeline":null,"variables":null,"detach":null,"rc":null,"error":null,)"
         R"("stacktrace":null,"result":null})";
}

std::string original_result(const std::string& cookie, const std::string& result_json) {
  return R"({"packet_type":"RESULT","cookie":")" + cookie +
         R"(","capacity":null,"pipeline":null,"variables":null,"detach":null,"rc":"OK",)"
         R"("error":null,"stacktrace":null,"result":)" +
         json_string_or_null(result_json) + "}";
}

std::string progress_packet(const std::string& cookie, const std::string& result_json) {
  return R"({"packet_type":"PROGRESS","cookie":")" + cookie + R"(","result":)" +
         json_string_or_null(result_json) + "}";
}

std::string run_until_accepted(raw_peer& client, raw_peer& worker, int worker_wait_ms) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto cookie = new_cookie();
    client.send(original_run(cookie, "echo", "{}"));
    if (auto run = worker.receive(worker_wait_ms))
      return field(*run, "cookie") == cookie ? cookie : std::string{};
    auto reply = client.receive(1000);
    if (!reply || field(*reply, "rc") != "NO_CAPACITY")
      return {};
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return {};
}

std::string new_cookie() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(36, '-');
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i != 8 && i != 13 && i != 18 && i != 23)
      s[i] = hex[rng() & 0xF];
  return s;
}

std::string field(const std::string& payload, const std::string& name) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded{payload};
  auto doc = parser.iterate(padded);
  std::string_view value;
  if (doc[name].get_string().get(value) != simdjson::SUCCESS)
    return {};
  return std::string{value};
}

} // namespace rcbroker::test_support

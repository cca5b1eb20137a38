#pragma once

// The broker's side of a connection, played by a test: a Unix-socket listener whose accepted
// peers read and write raw frames, to check what the client library writes and how it takes
// what a broker may send.

#include <optional>
#include <string>
#include <string_view>

namespace rcbroker::testing {

/// One accepted connection, blocking and raw.
class fake_peer {
public:
  explicit fake_peer(int fd) : fd_(fd) {}
  fake_peer(fake_peer&& other) noexcept;
  fake_peer(const fake_peer&) = delete;
  fake_peer& operator=(const fake_peer&) = delete;
  ~fake_peer();

  /// Writes `payload` as one frame.
  void send(std::string_view payload);

  /// Writes bytes as they are.
  void send_raw(std::string_view bytes);

  /// Reads one frame's payload; nullopt on timeout or when the peer closed.
  std::optional<std::string> receive(int timeout_ms = 5000);

  /// Whether the peer closed the connection within `timeout_ms` (frames read meanwhile are
  /// dropped).
  bool closed_by_peer(int timeout_ms = 5000);

  /// Closes the connection now.
  void close();

private:
  bool fill(std::size_t need, int timeout_ms);

  int fd_ = -1;
  std::string buffer_;
};

/// A listening Unix socket in a fresh temporary folder.
class fake_broker {
public:
  fake_broker();
  ~fake_broker();
  fake_broker(const fake_broker&) = delete;
  fake_broker& operator=(const fake_broker&) = delete;

  /// socket:///PATH of the listener.
  std::string url() const { return "socket://" + path_; }

  /// Accepts one connection; nullopt when none came within `timeout_ms`.
  std::optional<fake_peer> accept(int timeout_ms = 5000);

  /// Stops listening (the path stays, connections are refused).
  void stop_listening();

  /// Listens again on the same path.
  void listen();

private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

} // namespace rcbroker::testing

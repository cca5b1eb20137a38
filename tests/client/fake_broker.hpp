#pragma once

// The broker's side of a connection, played by a test: a Unix-socket listener whose accepted
// peers (raw_peer) read and write raw frames, to check what the client library writes and how it
// takes what a broker may send.

#include "raw_peer.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rcbroker::test_support {

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
  std::optional<raw_peer> accept(int timeout_ms = 5000);

  /// Stops listening (the path stays, connections are refused).
  void stop_listening();

  /// Listens again on the same path.
  void listen();

private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

} // namespace rcbroker::test_support

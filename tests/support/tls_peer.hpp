#pragma once

// A blocking test peer that speaks raw frames over TLS (Boost.Asio ssl), as raw_peer does over
// plain sockets: it writes exactly the bytes it is given.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rcbroker::test_support {

/// What a TLS test peer trusts and presents (PEM files; empty: none).
struct tls_peer_files {
  std::string ca;   ///< the node's certificate must chain to it (empty: not checked)
  std::string cert; ///< the peer's own certificate, for nodes that ask for one
  std::string key;  ///< its private key
};

/// One TLS connection to the node under test.
class tls_peer {
public:
  /// Connects to `url` (tls://HOST:PORT) and completes the handshake within `timeout_ms`;
  /// throws std::runtime_error saying why when it cannot.
  tls_peer(const std::string& url, const tls_peer_files& files, int timeout_ms = 5000);
  ~tls_peer();

  tls_peer(const tls_peer&) = delete;
  tls_peer& operator=(const tls_peer&) = delete;

  /// Writes `payload` as one frame (length prefix + bytes); throws when it cannot.
  void send(std::string_view payload);

  /// Reads one frame's payload; nullopt on timeout or when the connection ended.
  std::optional<std::string> receive(int timeout_ms = 5000);

  /// Whether the node closed the connection within `timeout_ms` (reading and dropping frames).
  bool closed_by_peer(int timeout_ms = 5000);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace rcbroker::test_support

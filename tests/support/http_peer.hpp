#pragma once

// A blocking HTTP/1.1 test client for the node's http:// client endpoints, written as the
// original ReasonChip HttpClient talks: POST /v1/stream/stream with one JSON packet, then the
// response's lines.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::test_support {

/// One HTTP response as read.
struct http_reply {
  unsigned status = 0;
  std::string content_type;
  bool chunked = false;
  bool keep_alive = false;
  std::string body;

  /// The body's lines without their "\n" (each a JSON packet for a 200 of the stream route).
  std::vector<std::string> lines() const;
};

/// One HTTP connection to the node under test.
class http_peer {
public:
  /// Connects to `url` (http://HOST:PORT or http://[V6]:PORT); throws on failure.
  explicit http_peer(const std::string& url);
  ~http_peer();
  http_peer(http_peer&&) noexcept;

  /// Writes a request with `body` (keep-alive HTTP/1.1).
  void send_request(std::string_view body, std::string_view target = "/v1/stream/stream",
                    std::string_view method = "POST");

  /// Writes raw bytes as they are.
  void send_raw(std::string_view bytes);

  /// Reads one whole response; nullopt on timeout or when the connection ended first.
  std::optional<http_reply> read_reply(int timeout_ms = 5000);

  /// send_request, then read_reply; throws when no response comes.
  http_reply post(std::string_view body, std::string_view target = "/v1/stream/stream",
                  std::string_view method = "POST");

  /// Whether the node closed the connection within `timeout_ms`.
  bool closed_by_peer(int timeout_ms = 5000);

  /// Closes the connection now (a client that goes away).
  void close();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace rcbroker::test_support

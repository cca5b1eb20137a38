#pragma once

// The http:// and https:// client endpoints: the original's HTTP transport. Kept out of the public
// headers so that only this part of the transport sees Beast.

#include "rcbroker/transport/listener.hpp"
#include "rcbroker/transport/stream.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rcbroker::transport {

struct tls_socket;
class http_session_base;

/// The HTTP connections of one listener, so that stopping it ends them (a kept-alive connection
/// would otherwise hold the io_context until its idle deadline).
class http_sessions {
public:
  /// Allows `max_open` connections open at once (0: no limit).
  explicit http_sessions(std::size_t max_open = 0) : max_open_(max_open) {}

  /// Whether one more connection may open now; if so, it counts until `closed` (io thread).
  bool admit();

  /// A connection `admit` let in has closed.
  void closed() noexcept { --open_; }

  /// Remembers `s` (on the io thread).
  void add(const std::shared_ptr<http_session_base>& s);

  /// Ends every connection still open; later ones are ended as they arrive (thread-safe).
  void stop_all();

  /// Whether stop_all ran.
  bool stopped() const;

  /// Counts a refused request or connection (any thread).
  void refused(http_refusal reason) noexcept {
    refused_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }

  /// The refusals so far, by http_refusal (any thread).
  std::vector<std::uint64_t> refusals() const;

private:
  mutable std::mutex mutex_; // stop_all may run on another thread than the sessions
  std::vector<std::weak_ptr<http_session_base>> sessions_;
  std::size_t max_open_;
  std::atomic<std::size_t> open_{0};
  bool stopped_ = false;
  std::array<std::atomic<std::uint64_t>, http_refusal_count> refused_{};
};

/// Serves HTTP/1.1 on an accepted socket, as the original broker's HTTP transport: each
/// `POST /v1/stream/stream` carrying one JSON packet (a RUN or a CANCEL, with its cookie) becomes
/// a channel handed to `on_accept`, so a client connection actor for the request's lifetime; its
/// response is `200`, chunked, one JSON packet a line, and ends with the RESULT for that cookie.
/// A body without a cookie gets `400`; other methods `405`, other paths `404`; a body over
/// `lim.max_frame_size` `413`. A client that drops the connection during a request is a client
/// that went away. Over the listener's connection limit the socket is closed at once. Requests must
/// arrive within `first_packet_timeout` (else `idle_timeout`) of the connection or of the previous
/// response.
void serve_http(stream::socket_type socket, stream::limits lim, std::string name,
                listener::accept_handler on_accept, std::shared_ptr<http_sessions> sessions);

/// As above, over a TLS session whose handshake is done (https://).
void serve_http(std::unique_ptr<tls_socket> tls, stream::limits lim, std::string name,
                listener::accept_handler on_accept, std::shared_ptr<http_sessions> sessions);

} // namespace rcbroker::transport

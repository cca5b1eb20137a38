#pragma once

// A blocking test peer that speaks raw frames over TCP or a Unix socket, as an original
// ReasonChip client or worker does: it writes exactly the bytes it is given.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::test_support {

/// One socket to the node under test.
class raw_peer {
public:
  /// Connects to `url` (tcp://HOST:PORT, tcp://[V6]:PORT or socket:///PATH); throws on failure.
  explicit raw_peer(const std::string& url);
  ~raw_peer();

  /// Takes a connected socket, e.g. one a test accepted playing the broker's side.
  static raw_peer adopt(int fd);

  raw_peer(raw_peer&& other) noexcept;
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  /// Writes `payload` as one frame (length prefix + bytes).
  void send(std::string_view payload);

  /// Writes raw bytes as they are (for garbage and split frames).
  void send_raw(std::string_view bytes);

  /// Reads one frame's payload; nullopt on timeout or when the connection ended.
  std::optional<std::string> receive(int timeout_ms = 5000);

  /// Whether the node closed the connection within `timeout_ms` (reading and dropping frames).
  bool closed_by_peer(int timeout_ms = 5000);

  /// Closes the socket now (an abrupt disconnect).
  void close();

private:
  raw_peer() = default;
  bool fill(std::size_t need, int timeout_ms);

  int fd_ = -1;
  std::string buffer_;
};

/// Connects to `url`, writes `bytes` (raw, possibly nothing) and nothing more, and returns how long
/// after connecting the node closed the connection; nullopt when it was still open after
/// `timeout_ms`.
std::optional<std::chrono::milliseconds>
connection_lifetime(const std::string& url, std::string_view bytes = {}, int timeout_ms = 3000);

/// A RUN exactly as an original client writes it.
std::string original_run(const std::string& cookie, const std::string& pipeline,
                         const std::string& variables_json, bool detach = false);

/// A CANCEL exactly as an original client writes it.
std::string original_cancel(const std::string& cookie);

/// A REGISTER exactly as an original worker writes it.
std::string original_register(int capacity);

/// A RESULT exactly as an original worker writes it (rc OK, result as given).
std::string original_result(const std::string& cookie, const std::string& result_json);

/// A PROGRESS (extension) as a worker writes it: type, cookie and result only.
std::string progress_packet(const std::string& cookie, const std::string& result_json);

/// Sends RUNs from `client` until one reaches `worker` (where capacity shows up asynchronously,
/// e.g. across cluster links); returns its cookie, or "" when a reply is not NO_CAPACITY or after
/// about 10 s.
/// `worker_wait_ms` is how long a RUN may take to reach the worker (longer across a cluster link
/// on a loaded machine).
std::string run_until_accepted(raw_peer& client, raw_peer& worker, int worker_wait_ms = 50);

/// A fresh random UUID in canonical lower-case form.
std::string new_cookie();

/// Reads a string field of a JSON object payload ("" when absent or not a string).
std::string field(const std::string& payload, const std::string& name);

} // namespace rcbroker::test_support

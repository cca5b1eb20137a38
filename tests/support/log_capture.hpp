#pragma once

// Keeps the lines an in-process node logs, so that a test can check what it said and why.

#include <memory>
#include <mutex>
#include <string>

namespace spdlog::sinks {
template <class Mutex>
class ringbuffer_sink;
} // namespace spdlog::sinks

namespace rcbroker::test_support {

/// Adds a sink to spdlog's default logger (which every component logs to when none is installed,
/// as in tests) for its lifetime. Make it before the node and let it end after: the logger's
/// sinks are not to be changed while other threads log.
class log_capture {
public:
  log_capture();
  ~log_capture();

  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// Whether a line logged so far contains `text`, waiting up to `timeout_ms` for it.
  bool contains(const std::string& text, int timeout_ms = 5000) const;

  /// The lines logged so far, one a line (the last 10000 at most).
  std::string text() const;

private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink<std::mutex>> sink_;
};

} // namespace rcbroker::test_support

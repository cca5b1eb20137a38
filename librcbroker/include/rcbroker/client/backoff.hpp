#pragma once

#include <chrono>

namespace rcbroker::client {

/// Delays between reconnection attempts: `first`, doubling after each failure, never above
/// `limit`; reset() after a connection that worked.
class backoff {
public:
  /// Starts at `first` (at least 1 ms) and caps at `limit` (at least `first`).
  backoff(std::chrono::milliseconds first, std::chrono::milliseconds limit);

  /// The delay before the next attempt; doubles the one after it.
  std::chrono::milliseconds next();

  /// Starts over at `first`.
  void reset() noexcept { current_ = first_; }

private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds limit_;
  std::chrono::milliseconds current_;
};

} // namespace rcbroker::client

#include "rcbroker/client/backoff.hpp"

#include <algorithm>

namespace rcbroker::client {

backoff::backoff(std::chrono::milliseconds first, std::chrono::milliseconds limit)
    : first_(std::max(first, std::chrono::milliseconds{1})), limit_(std::max(limit, first_)),
      current_(first_) {}

std::chrono::milliseconds backoff::next() {
  auto delay = current_;
  current_ = std::min(current_ * 2, limit_);
  return delay;
}

} // namespace rcbroker::client

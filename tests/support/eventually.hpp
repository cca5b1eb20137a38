#pragma once

// Waiting on a condition, never on a guess of how long something takes.

#include <chrono>
#include <thread>

namespace rcbroker::test_support {

/// Polls `pred` every 5 ms until it holds or `limit` has passed; returns its last value.
template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds limit = std::chrono::seconds{5}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return pred();
}

} // namespace rcbroker::test_support

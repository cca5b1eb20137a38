#include "log_capture.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <thread>

namespace rcbroker::test_support {

log_capture::log_capture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000)) {
  spdlog::default_logger()->sinks().push_back(sink_);
}

log_capture::~log_capture() {
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
}

std::string log_capture::text() const {
  std::string out;
  for (auto& line : sink_->last_formatted())
    out += line;
  return out;
}

bool log_capture::contains(const std::string& text_part, int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeout_ms};
  for (;;) {
    if (text().find(text_part) != std::string::npos)
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

} // namespace rcbroker::test_support

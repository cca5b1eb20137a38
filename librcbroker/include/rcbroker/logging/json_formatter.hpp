#pragma once

#include <memory>
#include <spdlog/formatter.h>

namespace rcbroker::logging {

/// Formats each log record as one JSON object on one line (JSON Lines), for log collectors:
/// `{"time":"2026-11-28T14:22:15.123456Z","level":"info","component":"switchboard",
/// "thread":4242,"message":"..."}`. The time is UTC; the component is the logger's name; the
/// message is escaped (invalid UTF-8 becomes U+FFFD), so every line is valid JSON.
class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

} // namespace rcbroker::logging

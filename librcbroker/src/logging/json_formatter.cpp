#include "rcbroker/logging/json_formatter.hpp"

#include "rcbroker/protocol/json_string.hpp"

#include <chrono>
#include <ctime>
#include <spdlog/details/log_msg.h>
#include <string>

namespace rcbroker::logging {

namespace {

// The spelling of the log-level settings, so that a record reads as its level is configured.
std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
  case spdlog::level::trace:
    return "trace";
  case spdlog::level::debug:
    return "debug";
  case spdlog::level::info:
    return "info";
  case spdlog::level::warn:
    return "warn";
  case spdlog::level::err:
    return "error";
  case spdlog::level::critical:
    return "critical";
  default:
    return "off";
  }
}

void append_time(std::string& out, std::chrono::system_clock::time_point t) {
  auto since_epoch = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - secs).count();
  std::time_t tt = secs.count();
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf, n);
  n = static_cast<std::size_t>(
      std::snprintf(buf, sizeof buf, ".%06lldZ", static_cast<long long>(micros)));
  out.append(buf, n);
}

} // namespace

void json_formatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string line;
  line.reserve(96 + msg.payload.size());
  line += R"({"time":")";
  append_time(line, msg.time);
  line += R"(","level":")";
  line += level_name(msg.level);
  line += R"(","component":)";
  protocol::append_json_string(line, {msg.logger_name.data(), msg.logger_name.size()});
  line += R"(,"thread":)";
  line += std::to_string(msg.thread_id);
  line += R"(,"message":)";
  protocol::append_json_string(line, {msg.payload.data(), msg.payload.size()});
  line += "}\n";
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> json_formatter::clone() const {
  return std::make_unique<json_formatter>();
}

} // namespace rcbroker::logging

#include "rcbroker/node/logging.hpp"

#include "rcbroker/logging/component.hpp"
#include "rcbroker/logging/json_formatter.hpp"

#include <mutex>
#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace rcbroker::node {

namespace {

/// The level `log-levels` sets for `name`, or `fallback`. The entries were validated already.
spdlog::level::level_enum level_of(const settings& s, std::string_view name,
                                   spdlog::level::level_enum fallback) {
  auto result = fallback;
  for (auto& entry : s.log_levels) {
    auto eq = entry.find('=');
    if (eq != std::string::npos && std::string_view{entry}.substr(0, eq) == name)
      result = spdlog::level::from_str(entry.substr(eq + 1));
  }
  return result;
}

/// `log-file`, appended to, that can be opened again by its name while loggers write to it.
class reopenable_file_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit reopenable_file_sink(const std::string& path) { file_.open(path, false); }

  /// Opens the file by its name again; what fails leaves the old file in use.
  void reopen() {
    std::lock_guard<std::mutex> guard{mutex_};
    spdlog::details::file_helper fresh;
    fresh.open(file_.filename(), false); // throws spdlog_ex, leaving file_ as it was
    file_.close();
    file_.open(fresh.filename(), false);
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    file_.write(formatted);
  }
  void flush_() override { file_.flush(); }

private:
  spdlog::details::file_helper file_;
};

/// The sink of `log-file`, when the log goes to a file.
std::shared_ptr<reopenable_file_sink>& file_sink() {
  static std::shared_ptr<reopenable_file_sink> sink;
  return sink;
}

} // namespace

std::string reopen_log_file() {
  auto sink = file_sink();
  if (!sink)
    return {};
  try {
    sink->reopen();
  } catch (const spdlog::spdlog_ex& e) {
    return e.what();
  }
  return {};
}

std::string setup_logging(const settings& s) {
  spdlog::sink_ptr sink;
  try {
    if (!s.log_file.empty()) {
      file_sink() = std::make_shared<reopenable_file_sink>(s.log_file);
      sink = file_sink();
    } else if (s.log_format == "json")
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    else
      sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } catch (const spdlog::spdlog_ex& e) {
    return "log-file: " + std::string{e.what()};
  }
  if (s.log_format == "json")
    sink->set_formatter(std::make_unique<logging::json_formatter>());
  else
    sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  auto base = spdlog::level::from_str(s.log_level);
  std::array<std::shared_ptr<spdlog::logger>, logging::component_count> loggers;
  for (std::size_t i = 0; i < loggers.size(); ++i) {
    std::string name{logging::component_names[i]};
    auto l = std::make_shared<spdlog::logger>(name, sink);
    l->set_level(level_of(s, name, base));
    // A file is buffered: flush every line, so that a crash or `tail -f` misses nothing (stderr
    // is unbuffered anyway). No flush thread: it would start before rcbroker blocks SIGTERM.
    l->flush_on(s.log_file.empty() ? spdlog::level::info : spdlog::level::trace);
    spdlog::drop(name);
    spdlog::register_logger(l);
    loggers[i] = std::move(l);
  }
  spdlog::set_default_logger(loggers[static_cast<std::size_t>(logging::component::node)]);
  logging::install(std::move(loggers));
  return {};
}

} // namespace rcbroker::node

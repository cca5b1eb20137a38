#include "rcbroker/node/logging.hpp"

#include "rcbroker/logging/component.hpp"
#include "rcbroker/logging/json_formatter.hpp"

#include <spdlog/sinks/basic_file_sink.h>
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

} // namespace

std::string setup_logging(const settings& s) {
  spdlog::sink_ptr sink;
  try {
    if (!s.log_file.empty())
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(s.log_file, false);
    else if (s.log_format == "json")
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

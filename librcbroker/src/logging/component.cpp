#include "rcbroker/logging/component.hpp"

#include <spdlog/spdlog.h>
#include <utility>

namespace rcbroker::logging {

namespace {

std::array<std::shared_ptr<spdlog::logger>, component_count>& installed() {
  static std::array<std::shared_ptr<spdlog::logger>, component_count> loggers;
  return loggers;
}

} // namespace

std::optional<component> parse_component(std::string_view name) noexcept {
  for (std::size_t i = 0; i < component_names.size(); ++i)
    if (component_names[i] == name)
      return static_cast<component>(i);
  return std::nullopt;
}

spdlog::logger& logger(component c) noexcept {
  auto& l = installed()[static_cast<std::size_t>(c)];
  return l ? *l : *spdlog::default_logger_raw();
}

void install(std::array<std::shared_ptr<spdlog::logger>, component_count> loggers) {
  installed() = std::move(loggers);
}

} // namespace rcbroker::logging

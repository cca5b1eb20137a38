#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <spdlog/logger.h>
#include <string_view>

namespace rcbroker::logging {

/// A part of the node with a log level of its own (`log-levels`).
enum class component : std::uint8_t { node, broker, switchboard, connection, admin };

/// Number of components.
inline constexpr std::size_t component_count = 5;

/// The names of the components, indexed by `component`; also their loggers' names.
inline constexpr std::array<std::string_view, component_count> component_names{
    "node", "broker", "switchboard", "connection", "admin"};

/// The component named `name`, if any.
std::optional<component> parse_component(std::string_view name) noexcept;

/// The logger of `c`: the one installed for it, else spdlog's default logger (so code that logs
/// works before and without any setup, as in tests).
spdlog::logger& logger(component c) noexcept;

/// Installs one logger per component (null: spdlog's default). Call before any thread logs, as
/// the node's logging setup does; the loggers are read without synchronisation afterwards.
void install(std::array<std::shared_ptr<spdlog::logger>, component_count> loggers);

} // namespace rcbroker::logging

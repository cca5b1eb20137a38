#pragma once

#include "rcbroker/node/settings.hpp"

#include <string>

namespace rcbroker::node {

/// Sets up spdlog for a node from its settings: one logger per component (node, broker,
/// switchboard, connection, admin) at `log-level` or its `log-levels` override, all writing to
/// `log-file` (appending) or stderr, as readable lines (`log-format = text`) or JSON Lines
/// (`json`). The node's logger becomes spdlog's default. Call once, before the node starts.
/// Returns an empty string, or why logging could not be set up (a log file that cannot be opened).
std::string setup_logging(const settings& s);

} // namespace rcbroker::node

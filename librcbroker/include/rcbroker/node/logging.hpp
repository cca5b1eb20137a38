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

/// Opens `log-file` again by its name, as logrotate expects after it moved the file away (on
/// SIGHUP); does nothing when the log goes to stderr. Returns an empty string, or why the file
/// could not be opened (the log then keeps going to the old file).
std::string reopen_log_file();

} // namespace rcbroker::node

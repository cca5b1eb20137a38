#pragma once

#include "options.hpp"

namespace rcbench {

/// Opens the idle connections described by `o`, holds them, and prints the node's memory and
/// CPU figures; returns the exit status (0, or 1 when a connection failed). Throws
/// std::invalid_argument for a bad endpoint URL.
int run_idle(const options& o);

} // namespace rcbench

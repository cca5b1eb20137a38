#pragma once

#include "options.hpp"

namespace rcbench {

/// Runs the load described by `o` (through the node, or direct) and prints its summary; returns
/// the exit status (0, or 1 when a connection failed or no task completed). Throws
/// std::invalid_argument for a bad endpoint URL.
int run_load(const options& o);

} // namespace rcbench

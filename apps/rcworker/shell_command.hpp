#pragma once

// rcworker --exec: one task as a shell command.

#include "rcbroker/client/task_context.hpp"

#include <string>

namespace rcworker {

/// Runs `command` with `/bin/sh -c`, the task's variables on its stdin and RC_PIPELINE and
/// RC_COOKIE in its environment; returns what it wrote to stdout. Each line it writes to file
/// descriptor 3 becomes the task's progress (a PROGRESS packet) as it comes. Throws
/// std::runtime_error with its stderr text (or its exit status) when it exits non-zero, and
/// task_cancelled after killing it when the task is cancelled.
std::string run_shell_command(const std::string& command,
                              const rcbroker::client::task_context& task);

} // namespace rcworker

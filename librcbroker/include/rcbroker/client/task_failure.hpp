#pragma once

// How a worker reports a handler's exception: an error text and a stacktrace, as the original
// worker does with Python's traceback.

#include "rcbroker/client/task_context.hpp"

#include <exception>
#include <string>
#include <vector>

namespace rcbroker::client {

/// The error text and stacktrace lines of a RESULT PROCESSOR_EXCEPTION.
struct task_failure {
  std::string error;                   ///< the exception's what()
  std::vector<std::string> stacktrace; ///< where it came from, then "TYPE: what()"
};

/// Describes `failure`, thrown by the handler of `task`.
task_failure describe_failure(std::exception_ptr failure, const task_context& task);

} // namespace rcbroker::client

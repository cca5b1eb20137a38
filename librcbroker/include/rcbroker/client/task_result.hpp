#pragma once

// What a run ends with, as a client sees it.

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/packet.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rcbroker::client {

/// The RESULT of one run: its code and, by code, the result JSON or the error with its stacktrace.
struct task_result {
  protocol::cookie cookie;                              ///< the run this answers
  protocol::result_code rc = protocol::result_code::ok; ///< OK or what went wrong
  std::optional<std::string> result;                    ///< JSON text the worker returned
  std::optional<std::string> error;                     ///< what went wrong, for people
  std::vector<std::string> stacktrace;                  ///< the worker's trace, when it sent one
  /// Extension: how many workers the task was given to, when the run asked for `retries` (the
  /// node reports it only then).
  std::optional<std::int64_t> attempts;

  /// Whether the run succeeded (rc OK).
  bool ok() const noexcept { return rc == protocol::result_code::ok; }

  /// The result JSON text of a successful run (empty when the worker sent none, as for a
  /// detached run); throws task_error when rc is not OK.
  const std::string& value() const;

  /// A result made on this side of the wire (connection lost, cookie already in use...).
  static task_result failure(const protocol::cookie& c, protocol::result_code rc,
                             std::string error);
};

/// Thrown by task_result::value() for a run that did not succeed.
class task_error : public std::runtime_error {
public:
  /// Takes the failed result; what() reads "RC: error".
  explicit task_error(const task_result& failed);

  /// The run that failed.
  const protocol::cookie& cookie() const noexcept { return cookie_; }

  /// Why, as the protocol says it.
  protocol::result_code rc() const noexcept { return rc_; }

  /// The error text (empty when the RESULT carried none).
  const std::string& error() const noexcept { return error_; }

  /// The worker's stacktrace, one line an element.
  const std::vector<std::string>& stacktrace() const noexcept { return stacktrace_; }

private:
  protocol::cookie cookie_;
  protocol::result_code rc_;
  std::string error_;
  std::vector<std::string> stacktrace_;
};

} // namespace rcbroker::client

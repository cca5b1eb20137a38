#include "rcbroker/client/task_result.hpp"

namespace rcbroker::client {

namespace {

std::string describe(const task_result& failed) {
  std::string text{protocol::to_string(failed.rc)};
  if (failed.error) {
    text += ": ";
    text += *failed.error;
  }
  return text;
}

} // namespace

const std::string& task_result::value() const {
  static const std::string none;
  if (!ok())
    throw task_error{*this};
  return result ? *result : none;
}

task_result task_result::failure(const protocol::cookie& c, protocol::result_code rc,
                                 std::string error) {
  task_result r;
  r.cookie = c;
  r.rc = rc;
  r.error = std::move(error);
  return r;
}

task_error::task_error(const task_result& failed)
    : std::runtime_error(describe(failed)), cookie_(failed.cookie), rc_(failed.rc),
      error_(failed.error.value_or(std::string{})), stacktrace_(failed.stacktrace) {}

} // namespace rcbroker::client

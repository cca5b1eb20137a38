#include "rcbroker/client/task_failure.hpp"

#include <cstdlib>
#include <cxxabi.h>
#include <memory>
#include <typeinfo>

namespace rcbroker::client {

namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> readable{
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free};
  return status == 0 && readable ? std::string{readable.get()} : std::string{mangled};
}

} // namespace

task_failure describe_failure(std::exception_ptr failure, const task_context& task) {
  task_failure described;
  std::string type;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    described.error = e.what();
    type = demangle(typeid(e).name());
  } catch (...) {
    described.error = "unknown exception";
    auto* thrown = abi::__cxa_current_exception_type();
    type = thrown ? demangle(thrown->name()) : "unknown";
  }
  described.stacktrace = {
      "Traceback (most recent call last):",
      "  handler of pipeline '" + task.pipeline() + "', task " + task.cookie().to_string(),
      type + ": " + described.error,
  };
  return described;
}

} // namespace rcbroker::client

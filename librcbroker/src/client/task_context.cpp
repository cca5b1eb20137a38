#include "rcbroker/client/task_context.hpp"

namespace rcbroker::client {

task_cancelled::task_cancelled() : std::runtime_error("Cancelled") {}

task_context::task_context(protocol::cookie c, std::string pipeline, std::string variables,
                           progress_sink progress)
    : cookie_(c), pipeline_(std::move(pipeline)), variables_(std::move(variables)),
      progress_(std::move(progress)), cancel_signal_(cancel_promise_.get_future().share()) {}

void task_context::throw_if_cancelled() const {
  if (cancelled())
    throw task_cancelled{};
}

void task_context::request_cancel() noexcept {
  if (cancelled_.exchange(true, std::memory_order_acq_rel))
    return;
  try {
    cancel_promise_.set_value();
  } catch (...) {
    // Only the first call gets here, so the promise cannot be satisfied already.
  }
}

void task_context::progress(std::string result_json) const {
  if (progress_)
    progress_(std::move(result_json));
}

} // namespace rcbroker::client

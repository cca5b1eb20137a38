#include "rcbroker/testing/worker_script.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace rcbroker::testing {

worker_step worker_step::answer(std::string result_json) {
  worker_step s;
  s.result = std::move(result_json);
  return s;
}

worker_step worker_step::fail(result_code rc, std::string error,
                              std::vector<std::string> stacktrace) {
  worker_step s;
  s.rc = rc;
  s.error = std::move(error);
  s.stacktrace = std::move(stacktrace);
  return s;
}

worker_step worker_step::hang() {
  worker_step s;
  s.what = kind::hang;
  return s;
}

worker_step worker_step::hang_until_cancelled() {
  auto s = hang();
  s.answers_cancel = true;
  return s;
}

worker_step worker_step::die() {
  worker_step s;
  s.what = kind::die;
  return s;
}

worker_step worker_step::after(caf::timespan d) const {
  auto s = *this;
  s.delay = d;
  return s;
}

worker_script echo() {
  return [](const worker_task& task) { return worker_step::answer(task.variables); };
}

worker_script always(worker_step step) {
  return [step](const worker_task&) { return step; };
}

worker_script in_order(std::vector<worker_step> steps) {
  if (steps.empty())
    throw std::invalid_argument("in_order: no steps");
  auto next = std::make_shared<std::size_t>(0);
  return [steps = std::move(steps), next](const worker_task&) {
    auto i = std::min(*next, steps.size() - 1);
    ++*next;
    return steps[i];
  };
}

} // namespace rcbroker::testing

#pragma once

// What a scripted worker does with each RUN: answer, fail, hang, die, or answer late.

#include "rcbroker/testing/packets.hpp"

#include <caf/timespan.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rcbroker::testing {

/// What a scripted worker does with one RUN.
struct worker_step {
  /// The kinds of step.
  enum class kind {
    answer, ///< send a RESULT (rc OK or a failure), after `delay` of virtual time
    hang,   ///< never answer (unless `answers_cancel` and a CANCEL comes)
    die,    ///< the worker actor exits: the Switchboard tells clients WORKER_WENT_AWAY
  };

  kind what = kind::answer;            ///< what to do
  result_code rc = result_code::ok;    ///< answer: the RESULT's rc
  std::optional<std::string> result;   ///< answer: the result JSON text
  std::optional<std::string> error;    ///< answer: the error text
  std::vector<std::string> stacktrace; ///< answer: the trace lines
  caf::timespan delay{0};              ///< answer: virtual time before the RESULT is sent
  bool answers_cancel = false;         ///< hang: a CANCEL is answered with EXCEPTION "Cancelled"

  /// A RESULT OK with `result_json`.
  static worker_step answer(std::string result_json);

  /// A RESULT with a failing `rc` (e.g. PROCESSOR_EXCEPTION or EXCEPTION) and `error`.
  static worker_step fail(result_code rc, std::string error,
                          std::vector<std::string> stacktrace = {});

  /// No RESULT, ever; a CANCEL is ignored (so the Switchboard's cancel-grace decides).
  static worker_step hang();

  /// No RESULT until a CANCEL, which is answered with EXCEPTION "Cancelled" as a real worker
  /// does.
  static worker_step hang_until_cancelled();

  /// The worker exits on this RUN, its other tasks unanswered.
  static worker_step die();

  /// This answer, sent after `d` of virtual time (see `harness::advance_time`).
  worker_step after(caf::timespan d) const;
};

/// Chooses the step for each RUN a scripted worker gets.
using worker_script = std::function<worker_step(const worker_task&)>;

/// Answers every RUN with its own variables (an echo worker).
worker_script echo();

/// Does `step` for every RUN.
worker_script always(worker_step step);

/// Does the steps in order, one a RUN; the last one again for every RUN after them.
worker_script in_order(std::vector<worker_step> steps);

} // namespace rcbroker::testing

#pragma once

// What a worker's handler gets for one task.

#include "rcbroker/protocol/cookie.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <stdexcept>
#include <string>

namespace rcbroker::client {

/// Thrown by a handler to say it stopped because its task was cancelled; the worker answers
/// RESULT EXCEPTION `Cancelled`.
class task_cancelled : public std::runtime_error {
public:
  task_cancelled();
};

/// Where a task's progress goes (the worker sends each as a PROGRESS packet); called on the
/// handler's thread.
using progress_sink = std::function<void(std::string result_json)>;

/// One task as its handler sees it: what to run, and whether the client asked to cancel it.
/// Handlers run on the worker's threads; the cancel flag is set from the worker's I/O thread.
class task_context {
public:
  /// A task named `c`, running `pipeline` with `variables` (JSON text, "" when the RUN had none);
  /// `progress` gets what progress() is given (none: progress() does nothing).
  task_context(protocol::cookie c, std::string pipeline, std::string variables,
               progress_sink progress = {});

  task_context(const task_context&) = delete;
  task_context& operator=(const task_context&) = delete;

  /// The cookie that names the task.
  const protocol::cookie& cookie() const noexcept { return cookie_; }

  /// The name of the work to run.
  const std::string& pipeline() const noexcept { return pipeline_; }

  /// The variables, JSON text as the client sent them.
  const std::string& variables() const noexcept { return variables_; }

  /// Whether the task was cancelled (by the client, or because the worker stops or lost its
  /// connection). A cancelled task is answered EXCEPTION `Cancelled` whatever the handler returns.
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

  /// Waits up to `timeout` for a cancel; returns whether the task is cancelled. A handler that
  /// must pause uses this rather than sleeping, so that a cancel wakes it.
  template <class Rep, class Period>
  bool wait_for_cancel(const std::chrono::duration<Rep, Period>& timeout) const {
    return cancel_signal_.wait_for(timeout) == std::future_status::ready;
  }

  /// Throws task_cancelled when the task was cancelled.
  void throw_if_cancelled() const;

  /// Marks the task cancelled and wakes wait_for_cancel (idempotent; any thread).
  void request_cancel() noexcept;

  /// Extension: sends partial output, JSON text, to the client as a PROGRESS packet (the node
  /// passes it on only when the client's RUN asked for progress). Thread-safe; call it while the
  /// handler runs: everything sent before the handler returns reaches the broker before the
  /// task's RESULT. Dropped silently once the task ended or its connection closed.
  void progress(std::string result_json) const;

private:
  protocol::cookie cookie_;
  std::string pipeline_;
  std::string variables_;
  progress_sink progress_;
  std::atomic<bool> cancelled_{false};
  std::promise<void> cancel_promise_;
  std::shared_future<void> cancel_signal_;
};

} // namespace rcbroker::client

#pragma once

// The C++ worker of the broker: registers capacity and runs a handler for every RUN it gets.

#include "rcbroker/client/connection_failure.hpp"
#include "rcbroker/client/task_context.hpp"
#include "rcbroker/client/tls_options.hpp"
#include "rcbroker/protocol/frame.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rcbroker::client {

/// How a worker connects and how much it runs at once.
struct worker_options {
  /// The broker's worker endpoint: `tcp://HOST:PORT`, `tcp://[V6]:PORT`, `tls://HOST:PORT` or
  /// `socket:///PATH`.
  std::string endpoint = "tcp://[::1]:51510";
  /// Tasks run at once; REGISTERed with the broker on every connection.
  std::int64_t capacity = 1;
  /// Extension: a token sent in REGISTER's `token` field (an original broker ignores it).
  std::optional<std::string> token;
  /// Extension: the pipelines this worker serves, sent in REGISTER's `pipelines` field (the node
  /// then gives it RUNs of these only); unset: every pipeline. Must not be empty nor name an
  /// empty pipeline.
  std::optional<std::vector<std::string>> pipelines;
  /// Threads running handlers (0: `capacity` threads).
  std::size_t threads = 0;
  /// First pause before reconnecting; it doubles after each failed attempt...
  std::chrono::milliseconds first_retry{100};
  /// ...up to this bound.
  std::chrono::milliseconds max_retry{5000};
  /// Time one connection attempt (with its TLS handshake, for tls://) may take.
  std::chrono::milliseconds connect_timeout{5000};
  /// What a tls:// endpoint's node is verified against, and the certificate presented to it.
  tls_options tls;
  /// Largest packet accepted from the broker; a longer frame ends the connection.
  std::size_t max_frame_size = protocol::default_max_frame_size;
};

/// Runs one task: returns the result as JSON text. An exception becomes RESULT
/// PROCESSOR_EXCEPTION with its what() and a stacktrace; task_cancelled (or any end of a task
/// whose context was cancelled) becomes RESULT EXCEPTION `Cancelled`. Handlers run on several
/// threads at once, so a handler must be safe to call concurrently.
using task_handler = std::function<std::string(task_context&)>;

/// Why a worker stopped.
enum class stop_reason {
  stopped,  ///< worker::stop() was called
  shutdown, ///< the broker sent SHUTDOWN
  failed,   ///< a permanent failure, which worker::failure() names: retrying would not help
};

/// A worker connected to a broker's worker endpoint. It REGISTERs its capacity, runs the handler
/// for every RUN on a pool of threads, passes CANCELs to the task's context, and answers each RUN
/// with a RESULT. When the connection drops (or the broker sends something unreadable) it cancels
/// the tasks of that connection, reconnects with exponential backoff and registers again; it
/// stops on SHUTDOWN, on stop(), and on a permanent failure (the node refuses its REGISTER, or
/// TLS verification fails), which no retry would mend. All members are thread-safe.
class worker {
public:
  /// Checks the options (throws std::invalid_argument for a bad endpoint, a capacity < 1, an
  /// empty pipeline list or name, or a TLS file that cannot be used); connects only on start()
  /// or run().
  worker(worker_options options, task_handler handler);

  /// Stops, waits for running handlers to return, and joins the threads.
  ~worker();

  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// Starts connecting in the background (idempotent).
  void start();

  /// start(), then wait().
  stop_reason run();

  /// Blocks until the worker stopped and every handler has returned. Never call it from a
  /// handler.
  stop_reason wait();

  /// Asks the worker to stop: it cancels running tasks, closes the connection and stops
  /// reconnecting; wait() returns once the handlers have returned.
  void stop();

  /// How many times the worker connected and sent REGISTER.
  std::uint64_t registrations() const noexcept;

  /// Handlers running now (tasks of a lost connection included until they return).
  std::size_t tasks_running() const noexcept;

  /// The permanent failure that stopped the worker (wait() returned stop_reason::failed), or
  /// nullopt.
  std::optional<connection_failure> failure() const;

private:
  class session;
  struct io_runtime;

  std::unique_ptr<io_runtime> io_;
};

} // namespace rcbroker::client

#include "rcbroker/client/worker.hpp"

#include "certificate_refusal.hpp"
#include "rcbroker/client/backoff.hpp"
#include "rcbroker/client/connect_attempt.hpp"
#include "rcbroker/client/task_failure.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "rcbroker/transport/endpoint.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <mutex>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>

namespace rcbroker::client {

namespace asio = boost::asio;
using protocol::result_code;

namespace {

/// How long a connection must last for the reconnect backoff to start over after it.
constexpr std::chrono::seconds stable_connection{1};

/// A task handed to the pool, the connection it came on, and its number among the worker's
/// tasks (a later task may reuse its cookie).
struct running_task {
  running_task(protocol::cookie c, std::string pipeline, std::string variables,
               std::uint64_t connection, std::uint64_t serial, progress_sink progress)
      : context(c, std::move(pipeline), std::move(variables), std::move(progress)),
        connection(connection), serial(serial) {}

  task_context context;
  std::uint64_t connection;
  std::uint64_t serial;
};

/// How a handler ended.
struct task_outcome {
  std::optional<std::string> result;
  std::optional<task_failure> failure;
  bool cancelled = false;
};

task_outcome execute(const task_handler& handler, task_context& task) {
  task_outcome outcome;
  try {
    outcome.result = handler(task);
  } catch (const task_cancelled&) {
    outcome.cancelled = true;
  } catch (...) {
    outcome.failure = describe_failure(std::current_exception(), task);
  }
  return outcome;
}

transport::endpoint checked_endpoint(const worker_options& options) {
  if (options.capacity < 1)
    throw std::invalid_argument("worker capacity must be at least 1");
  // The node would refuse such a REGISTER (BAD_PACKET) on every connection.
  if (options.pipelines && (options.pipelines->empty() ||
                            std::any_of(options.pipelines->begin(), options.pipelines->end(),
                                        [](const std::string& name) { return name.empty(); })))
    throw std::invalid_argument("worker pipelines must be a non-empty list of non-empty names");
  auto parsed = transport::parse_endpoint(options.endpoint, transport::default_worker_port);
  if (!parsed.value)
    throw std::invalid_argument(parsed.error);
  if (!parsed.value->is_framed())
    throw std::invalid_argument(std::string{parsed.value->scheme()} +
                                ":// is for clients; a worker connects over tcp://, tls:// or "
                                "socket://");
  return *parsed.value;
}

} // namespace

/// The state of a worker; every member function runs on the strand.
class worker::session : public std::enable_shared_from_this<session> {
public:
  session(strand_type strand, asio::thread_pool& pool, worker_options options,
          transport::endpoint where, std::shared_ptr<asio::ssl::context> tls, task_handler handler)
      : strand_(strand), pool_(pool), options_(std::move(options)), where_(std::move(where)),
        tls_(std::move(tls)), handler_(std::move(handler)),
        retry_(options_.first_retry, options_.max_retry), retry_timer_(strand),
        finished_(finished_promise_.get_future().share()) {}

  void connect() {
    if (stopping_)
      return;
    transport::stream::limits limits;
    limits.max_frame_size = options_.max_frame_size;
    attempt_ = connect_attempt::start(
        strand_, where_, options_.connect_timeout, limits, tls_,
        [self = shared_from_this()](transport::stream_ptr stream, connection_failure failure) {
          self->on_connected(std::move(stream), std::move(failure));
        });
  }

  void stop(stop_reason why) {
    if (stopping_)
      return;
    stopping_ = true;
    reason_ = why;
    retry_timer_.cancel();
    if (auto attempt = std::move(attempt_))
      attempt->cancel(); // its handler runs now, on this strand
    drop_connection(why == stop_reason::shutdown ? "the broker shut down" : "the worker stops");
    finish_if_idle();
  }

  std::shared_future<stop_reason> finished() const { return finished_; }

  std::uint64_t registrations() const noexcept { return registrations_.load(); }

  std::optional<connection_failure> failure() const {
    std::lock_guard<std::mutex> lock{failure_mutex_};
    return failure_;
  }

  std::size_t tasks_running() const noexcept { return tasks_running_.load(); }

private:
  void on_connected(transport::stream_ptr stream, connection_failure failure) {
    attempt_.reset();
    if (stopping_) {
      if (stream)
        stream->close("the worker stops");
      return;
    }
    if (!stream) {
      failure.message = "cannot connect to " + where_.to_string() + ": " + failure.message;
      if (failure.permanent())
        give_up(std::move(failure));
      else
        retry_later(failure.message);
      return;
    }
    stream_ = std::move(stream);
    auto connection = ++connection_;
    stream_->start({[self = shared_from_this(), connection](std::vector<protocol::frame>&& frames) {
                      self->on_frames(connection, frames);
                    },
                    [self = shared_from_this(), connection](std::string reason) {
                      self->on_closed(connection, std::move(reason));
                    }});
    stream_->write(protocol::make_register(options_.capacity, options_.token, options_.pipelines));
    ++registrations_;
    connected_at_ = std::chrono::steady_clock::now();
    spdlog::info("worker: connected to {}, registered capacity {}", where_.to_string(),
                 options_.capacity);
  }

  void on_frames(std::uint64_t connection, std::vector<protocol::frame>& frames) {
    for (auto& f : frames) {
      if (connection != connection_ || !stream_)
        return;
      auto reading = protocol::read_packet(f, protocol::read_scope::whole);
      if (reading.ok())
        reading.error = protocol::check_worker_packet(reading.fields);
      if (!reading.ok()) {
        lose_connection("bad packet from the broker: " + reading.error);
        return;
      }
      auto& fields = reading.fields;
      switch (*fields.type) {
      case protocol::packet_type::run:
        start_task(fields);
        break;
      case protocol::packet_type::cancel:
        cancel_task(*fields.cookie);
        break;
      case protocol::packet_type::shutdown:
        spdlog::info("worker: the broker at {} sent SHUTDOWN", where_.to_string());
        stop(stop_reason::shutdown);
        return;
      case protocol::packet_type::result:
        if (!report_broker_answer(f))
          return;
        break;
      case protocol::packet_type::register_worker:
      case protocol::packet_type::progress:
        lose_connection("the broker sent " + std::string{protocol::to_string(*fields.type)});
        return;
      }
    }
  }

  void on_closed(std::uint64_t connection, std::string reason) {
    if (connection != connection_ || !stream_)
      return;
    if (certificate_refused(stream_->read_error())) {
      give_up({connection_failure::kind::untrusted,
               "the broker at " + where_.to_string() + " refused the client certificate: " +
                   reason + " (is --tls-cert signed by a CA of its tls-client-ca?)"});
      return;
    }
    lose_connection(std::move(reason));
  }

  void start_task(protocol::packet_fields& fields) {
    const auto& c = *fields.cookie;
    if (running_.size() >= static_cast<std::size_t>(options_.capacity)) {
      // The broker hands out no more than the registered slots; answer rather than queue.
      spdlog::warn("worker: RUN {} beyond capacity {}", c.to_string(), options_.capacity);
      stream_->write(protocol::make_result(c, result_code::no_capacity, std::nullopt,
                                           std::string{"Worker at capacity"}));
      return;
    }
    auto serial = ++tasks_started_;
    auto task = std::make_shared<running_task>(c, std::move(*fields.pipeline),
                                               fields.variables.value_or(std::string{}),
                                               connection_, serial, progress_sink_for(c, serial));
    if (!running_.try_emplace(c, task).second) {
      lose_connection("the broker sent a second RUN for task " + c.to_string());
      return;
    }
    ++tasks_running_;
    spdlog::debug("worker: task {} started (pipeline '{}')", c.to_string(),
                  task->context.pipeline());
    asio::post(pool_, [self = shared_from_this(), task] {
      auto outcome = execute(self->handler_, task->context);
      asio::post(self->strand_, [self, task, outcome = std::move(outcome)]() mutable {
        self->finish_task(*task, std::move(outcome));
      });
    });
  }

  /// What task_context::progress of the task `serial` calls, on a pool thread: it posts to the
  /// strand, after which the PROGRESS goes out only while that task still runs on this connection.
  progress_sink progress_sink_for(const protocol::cookie& c, std::uint64_t serial) {
    return [weak = weak_from_this(), connection = connection_, c, serial](std::string json) {
      auto self = weak.lock();
      if (!self)
        return;
      asio::post(self->strand_, [self, connection, c, serial, json = std::move(json)] {
        self->send_progress(connection, c, serial, json);
      });
    };
  }

  void send_progress(std::uint64_t connection, const protocol::cookie& c, std::uint64_t serial,
                     const std::string& json) {
    auto it = running_.find(c);
    if (connection != connection_ || !stream_ || it == running_.end() ||
        it->second->serial != serial)
      return;
    stream_->write(protocol::make_progress(c, json));
  }

  void cancel_task(const protocol::cookie& c) {
    auto it = running_.find(c);
    if (it == running_.end()) {
      spdlog::debug("worker: CANCEL for task {} that does not run here", c.to_string());
      return;
    }
    spdlog::debug("worker: task {} cancelled", c.to_string());
    it->second->context.request_cancel();
  }

  void finish_task(running_task& task, task_outcome outcome) {
    --tasks_running_;
    const auto& c = task.context.cookie();
    auto it = running_.find(c);
    bool answerable = task.connection == connection_ && stream_ && it != running_.end() &&
                      &it->second->context == &task.context;
    if (!answerable) {
      spdlog::debug("worker: task {} ended after its connection closed", c.to_string());
      finish_if_idle();
      return;
    }
    running_.erase(it);
    if (outcome.cancelled || task.context.cancelled()) {
      spdlog::debug("worker: task {} stopped: Cancelled", c.to_string());
      stream_->write(
          protocol::make_result(c, result_code::exception, std::nullopt, std::string{"Cancelled"}));
    } else if (outcome.failure) {
      spdlog::debug("worker: task {} failed: {}", c.to_string(), outcome.failure->error);
      stream_->write(protocol::make_result(c, result_code::processor_exception, std::nullopt,
                                           outcome.failure->error, outcome.failure->stacktrace));
    } else {
      spdlog::debug("worker: task {} done", c.to_string());
      stream_->write(protocol::make_result(c, result_code::ok, outcome.result));
    }
  }

  /// Logs an answer of the broker to something the worker sent; returns false when it refused
  /// the REGISTER, which stops the worker.
  bool report_broker_answer(const protocol::frame& f) {
    auto answer = protocol::read_packet(f, protocol::read_scope::whole);
    std::string rc{answer.fields.rc ? protocol::to_string(*answer.fields.rc) : "?"};
    auto error = answer.fields.error.value_or(answer.error);
    // REGISTER is the only packet a worker sends without a cookie, so an answer without one
    // refuses it (a missing or wrong token, docs/PROTOCOL.md); the same REGISTER would be
    // refused again.
    bool refused = !answer.fields.cookie &&
                   answer.fields.rc.value_or(result_code::bad_packet) != result_code::ok;
    if (!refused) {
      spdlog::warn("worker: the broker answered {}: {}", rc, error);
      return true;
    }
    give_up(
        {connection_failure::kind::refused,
         "the broker at " + where_.to_string() + " refused the registration: " + rc + " " + error});
    return false;
  }

  /// Ends the current connection: its tasks are cancelled (the broker has told their clients),
  /// and any answer they give later is dropped.
  void drop_connection(const std::string& reason) {
    if (stream_) {
      stream_->close(reason);
      stream_.reset();
    }
    ++connection_;
    for (auto& entry : running_)
      entry.second->context.request_cancel();
    running_.clear();
  }

  void lose_connection(std::string reason) {
    spdlog::info("worker: connection to {} lost: {}", where_.to_string(), reason);
    drop_connection(reason);
    // Only a connection that lasted starts the backoff over: a node that closes each connection
    // at once (over max-worker-connections, say) must not be dialled ten times a second.
    if (std::chrono::steady_clock::now() - connected_at_ >= stable_connection)
      retry_.reset();
    retry_later("connection lost");
  }

  /// Stops for good: retrying would fail the same way.
  void give_up(connection_failure failure) {
    spdlog::error("worker: {}; not retrying", failure.message);
    {
      std::lock_guard<std::mutex> lock{failure_mutex_};
      failure_ = std::move(failure);
    }
    stop(stop_reason::failed);
  }

  void retry_later(const std::string& why) {
    if (stopping_)
      return;
    auto delay = retry_.next();
    spdlog::info("worker: {}; reconnecting in {} ms", why, delay.count());
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec)
        self->connect();
    });
  }

  void finish_if_idle() {
    if (!stopping_ || tasks_running_.load() != 0 || finished_set_)
      return;
    finished_set_ = true;
    finished_promise_.set_value(reason_);
  }

  strand_type strand_;
  asio::thread_pool& pool_;
  worker_options options_;
  transport::endpoint where_;
  std::shared_ptr<asio::ssl::context> tls_; // tls:// only; shared by every connection attempt
  task_handler handler_;
  backoff retry_;
  std::chrono::steady_clock::time_point connected_at_{};
  asio::steady_timer retry_timer_;
  std::shared_ptr<connect_attempt> attempt_;
  transport::stream_ptr stream_;
  std::uint64_t connection_ = 0;    // numbers connections, so late events of old ones are ignored
  std::uint64_t tasks_started_ = 0; // numbers tasks, so a late PROGRESS of an ended one is dropped
  std::unordered_map<protocol::cookie, std::shared_ptr<running_task>> running_;
  std::atomic<std::size_t> tasks_running_{0};
  std::atomic<std::uint64_t> registrations_{0};
  bool stopping_ = false;
  stop_reason reason_ = stop_reason::stopped;
  std::promise<stop_reason> finished_promise_;
  std::shared_future<stop_reason> finished_;
  bool finished_set_ = false;
  mutable std::mutex failure_mutex_; // failure() is read from other threads
  std::optional<connection_failure> failure_;
};

/// The I/O thread, the handler pool and the strand of one worker.
struct worker::io_runtime {
  io_runtime(std::size_t threads, worker_options options, transport::endpoint where,
             std::shared_ptr<asio::ssl::context> tls, task_handler handler)
      : pool(threads),
        state(std::make_shared<session>(strand, pool, std::move(options), std::move(where),
                                        std::move(tls), std::move(handler))) {}

  ~io_runtime() {
    asio::post(strand, [s = state] { s->stop(stop_reason::stopped); });
    state->finished().wait();
    work.reset();
    thread.join();
    pool.join();
  }

  asio::io_context context;
  asio::executor_work_guard<asio::io_context::executor_type> work{context.get_executor()};
  strand_type strand{asio::make_strand(context)};
  asio::thread_pool pool;
  std::shared_ptr<session> state;
  std::atomic<bool> started{false};
  std::thread thread{[this] { context.run(); }};
};

worker::worker(worker_options options, task_handler handler) {
  auto where = checked_endpoint(options);
  if (!handler)
    throw std::invalid_argument("worker needs a task handler");
  auto threads =
      options.threads != 0 ? options.threads : static_cast<std::size_t>(options.capacity);
  std::shared_ptr<asio::ssl::context> tls;
  try {
    tls = tls_context_for(where, options.tls);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());
  }
  io_ = std::make_unique<io_runtime>(threads, std::move(options), std::move(where), std::move(tls),
                                     std::move(handler));
}

worker::~worker() = default;

void worker::start() {
  if (!io_->started.exchange(true))
    asio::post(io_->strand, [s = io_->state] { s->connect(); });
}

stop_reason worker::run() {
  start();
  return wait();
}

stop_reason worker::wait() {
  return io_->state->finished().get();
}

void worker::stop() {
  asio::post(io_->strand, [s = io_->state] { s->stop(stop_reason::stopped); });
}

std::uint64_t worker::registrations() const noexcept {
  return io_->state->registrations();
}

std::size_t worker::tasks_running() const noexcept {
  return io_->state->tasks_running();
}

std::optional<connection_failure> worker::failure() const {
  return io_->state->failure();
}

} // namespace rcbroker::client

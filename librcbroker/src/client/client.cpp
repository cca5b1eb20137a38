#include "rcbroker/client/client.hpp"

#include "certificate_refusal.hpp"
#include "rcbroker/client/connect_attempt.hpp"
#include "rcbroker/client/random_cookie.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "rcbroker/transport/endpoint.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace rcbroker::client {

namespace asio = boost::asio;
using protocol::result_code;

namespace {

// How long closing a client may take to write what is queued.
constexpr std::chrono::seconds flush_time_limit{2};

/// What an open run waits for.
struct open_run {
  result_handler on_result;
  progress_handler on_progress;
};

protocol::run_extensions extensions_of(const run_options& options) {
  protocol::run_extensions extensions;
  extensions.timeout = options.timeout;
  extensions.priority = options.priority;
  extensions.retries = options.retries;
  // A detached run hears nothing back, PROGRESS included.
  extensions.progress = options.on_progress && !options.detach;
  return extensions;
}

} // namespace

/// The state of one connection; every member function runs on the strand.
class client::session : public std::enable_shared_from_this<session> {
public:
  explicit session(strand_type strand) : flush_deadline_(strand) {}

  /// Takes the connected stream and starts reading.
  void attach(transport::stream_ptr stream) {
    stream_ = std::move(stream);
    connected_ = true;
    stream_->start({[self = shared_from_this()](std::vector<protocol::frame>&& frames) {
                      self->on_frames(frames);
                    },
                    [self = shared_from_this()](std::string reason) {
                      self->flush_deadline_.cancel();
                      self->note_refusal(reason);
                      self->shut(std::move(reason), false);
                    }});
  }

  /// Sends a RUN; `on_result` gets its RESULT (for a detached run: an OK result at once), and
  /// `on_progress` (when set) its PROGRESS packets before that.
  void submit(const protocol::cookie& c, protocol::frame run, bool detach,
              result_handler& on_result, progress_handler& on_progress) {
    if (!connected_) {
      deliver(on_result, task_result::failure(c, result_code::broker_went_away, closed_reason_));
      return;
    }
    if (detach) {
      stream_->write(std::move(run));
      task_result submitted;
      submitted.cookie = c;
      deliver(on_result, std::move(submitted));
      return;
    }
    if (pending_.count(c) > 0) {
      // The broker would answer COOKIE_COLLISION with this cookie, and that answer would end the
      // run already under it.
      deliver(on_result, task_result::failure(c, result_code::cookie_collision, "Already in use"));
      return;
    }
    pending_.emplace(c, open_run{std::move(on_result), std::move(on_progress)});
    stream_->write(std::move(run));
  }

  void cancel(const protocol::cookie& c) {
    if (connected_)
      stream_->write(protocol::make_cancel(c));
  }

  /// Closes the connection and ends every open run with BROKER_WENT_AWAY. With `flush`, the
  /// frames already queued (a detached RUN, a CANCEL) are written first, for a bounded time.
  void shut(std::string reason, bool flush) {
    if (!connected_)
      return;
    connected_ = false;
    closed_reason_ = "The broker connection went away: " + reason;
    if (flush) {
      stream_->close_after_flush();
      flush_deadline_.expires_after(flush_time_limit);
      flush_deadline_.async_wait([stream = stream_](boost::system::error_code ec) {
        if (!ec)
          stream->close("the broker does not read");
      });
    } else {
      stream_->close(reason);
    }
    auto open_runs = std::move(pending_);
    pending_.clear();
    for (auto& [c, run] : open_runs) {
      auto went_away = task_result::failure(c, result_code::broker_went_away, closed_reason_);
      deliver(run.on_result, std::move(went_away));
    }
  }

  bool connected() const noexcept { return connected_; }

  std::optional<connection_failure> failure() const {
    std::lock_guard<std::mutex> lock{failure_mutex_};
    return failure_;
  }

private:
  /// TLS 1.3: a node that refuses the client certificate does so after the client's handshake
  /// ended, so the refusal arrives as the first read's error.
  void note_refusal(std::string& reason) {
    if (!certificate_refused(stream_->read_error()))
      return;
    reason = "the node refused the client certificate: " + reason +
             " (is --tls-cert signed by a CA of its tls-client-ca?)";
    std::lock_guard<std::mutex> lock{failure_mutex_};
    failure_ = connection_failure{connection_failure::kind::untrusted, reason};
  }

  void on_frames(std::vector<protocol::frame>& frames) {
    for (auto& f : frames) {
      if (!connected_)
        return;
      auto reading = protocol::read_packet(f, protocol::read_scope::whole);
      if (reading.ok() && reading.fields.type == protocol::packet_type::progress) {
        report_progress(reading.fields);
        continue;
      }
      if (reading.ok())
        reading.error = protocol::check_result_packet(reading.fields);
      if (!reading.ok()) {
        // A broker never sends this; nothing it says on this connection can be trusted now.
        shut("bad packet from the broker: " + reading.error, false);
        return;
      }
      auto& fields = reading.fields;
      if (!fields.cookie)
        continue;
      auto it = pending_.find(*fields.cookie);
      if (it == pending_.end())
        continue; // a detached run's answer
      auto on_result = std::move(it->second.on_result);
      pending_.erase(it);
      task_result r;
      r.cookie = *fields.cookie;
      r.rc = *fields.rc;
      r.result = std::move(fields.result);
      r.error = std::move(fields.error);
      if (fields.stacktrace)
        r.stacktrace = std::move(*fields.stacktrace);
      r.attempts = fields.attempts;
      deliver(on_result, std::move(r));
    }
  }

  /// Hands a PROGRESS to its open run's handler; one for no open run (an ended or detached run,
  /// or one that did not ask) is dropped.
  void report_progress(protocol::packet_fields& fields) {
    if (!fields.cookie)
      return;
    auto it = pending_.find(*fields.cookie);
    if (it == pending_.end() || !it->second.on_progress)
      return;
    try {
      it->second.on_progress(*fields.cookie, fields.result.value_or(std::string{}));
    } catch (...) {
      // As for a result handler: nowhere to go, and the I/O thread must go on.
    }
  }

  static void deliver(result_handler& on_result, task_result r) {
    if (!on_result)
      return;
    try {
      on_result(std::move(r));
    } catch (...) {
      // A handler's exception has nowhere to go; it must not end the I/O thread.
    }
  }

  asio::steady_timer flush_deadline_;
  transport::stream_ptr stream_;
  std::unordered_map<protocol::cookie, open_run> pending_;
  std::atomic<bool> connected_{false};
  mutable std::mutex failure_mutex_; // failure() is read from other threads
  std::optional<connection_failure> failure_;
  std::string closed_reason_ = "Not connected to the broker";
};

/// The I/O thread and the strand of one client.
struct client::io_runtime {
  asio::io_context context;
  asio::executor_work_guard<asio::io_context::executor_type> work{context.get_executor()};
  strand_type strand{asio::make_strand(context)};
  std::shared_ptr<session> state = std::make_shared<session>(strand);
  std::thread thread{[this] { context.run(); }};

  ~io_runtime() {
    asio::post(strand, [s = state] { s->shut("closed by the client", true); });
    work.reset();
    thread.join();
  }
};

client::client(const std::string& url, client_options options) {
  auto parsed = transport::parse_endpoint(url, transport::default_client_port);
  if (!parsed.value)
    throw connect_error(parsed.error);
  std::shared_ptr<asio::ssl::context> tls;
  try {
    tls = tls_context_for(*parsed.value, options.tls);
  } catch (const std::runtime_error& e) {
    throw connect_error("cannot connect to " + url + ": " + e.what());
  }
  io_ = std::make_unique<io_runtime>();
  std::promise<std::optional<connection_failure>> outcome;
  transport::stream::limits limits;
  limits.max_frame_size = options.max_frame_size;
  connect_attempt::start(
      io_->strand, *parsed.value, options.connect_timeout, limits, std::move(tls),
      [s = io_->state, &outcome](transport::stream_ptr stream, connection_failure failure) {
        if (!stream) {
          outcome.set_value(std::move(failure));
          return;
        }
        s->attach(std::move(stream));
        outcome.set_value(std::nullopt);
      });
  if (auto failure = outcome.get_future().get())
    throw connect_error("cannot connect to " + url + ": " + failure->message, failure->what);
}

client::~client() = default;

std::future<task_result> client::run(std::string pipeline, std::string variables_json,
                                     run_options options) {
  auto promise = std::make_shared<std::promise<task_result>>();
  auto future = promise->get_future();
  submit(
      std::move(pipeline), std::move(variables_json),
      [promise](task_result r) { promise->set_value(std::move(r)); }, options);
  return future;
}

protocol::cookie client::run(std::string pipeline, std::string variables_json,
                             result_handler on_result, run_options options) {
  if (options.detach)
    on_result = nullptr;
  return submit(std::move(pipeline), std::move(variables_json), std::move(on_result), options);
}

protocol::cookie client::submit(std::string pipeline, std::string variables_json,
                                result_handler on_result, const run_options& options) {
  auto c = options.cookie ? *options.cookie : random_cookie();
  auto frame =
      protocol::make_run(c, pipeline, variables_json, options.detach, extensions_of(options));
  progress_handler on_progress = options.detach ? nullptr : options.on_progress;
  asio::post(io_->strand,
             [s = io_->state, c, frame = std::move(frame), detach = options.detach,
              on_result = std::move(on_result), on_progress = std::move(on_progress)]() mutable {
               s->submit(c, std::move(frame), detach, on_result, on_progress);
             });
  return c;
}

void client::cancel(const protocol::cookie& c) {
  asio::post(io_->strand, [s = io_->state, c] { s->cancel(c); });
}

void client::close() {
  asio::post(io_->strand, [s = io_->state] { s->shut("closed by the client", true); });
}

bool client::connected() const noexcept {
  return io_->state->connected();
}

std::optional<connection_failure> client::failure() const {
  return io_->state->failure();
}

} // namespace rcbroker::client

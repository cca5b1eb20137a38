#pragma once

// The C++ client of the broker: submits runs on one connection and gets their RESULTs.

#include "rcbroker/client/connection_failure.hpp"
#include "rcbroker/client/task_result.hpp"
#include "rcbroker/client/tls_options.hpp"
#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace rcbroker::client {

/// Thrown when a client cannot connect to the broker.
class connect_error : public std::runtime_error {
public:
  /// `what` tells whether trying again could help (a bad URL or TLS file is `unusable`).
  explicit connect_error(const std::string& message,
                         connection_failure::kind what = connection_failure::kind::unusable)
      : std::runtime_error(message), kind_(what) {}

  /// What kind of failure it was.
  connection_failure::kind kind() const noexcept { return kind_; }

  /// True when another attempt would fail the same way.
  bool permanent() const noexcept { return kind_ != connection_failure::kind::transient; }

private:
  connection_failure::kind kind_;
};

/// How a client connects.
struct client_options {
  /// Time to resolve, connect and (tls://) complete the TLS handshake before giving up with
  /// connect_error.
  std::chrono::milliseconds connect_timeout{5000};
  /// What a tls:// endpoint's node is verified against, and the certificate presented to it.
  tls_options tls;
  /// Largest RESULT accepted; a longer frame from the broker ends the connection.
  std::size_t max_frame_size = protocol::default_max_frame_size;
};

/// Gets a run's PROGRESS packets (extension): the run's cookie and the worker's partial output,
/// JSON text as the worker sent it. It runs on the client's I/O thread, each before the run's
/// RESULT is delivered: it must not block, and must not wait for a run of the same client.
using progress_handler = std::function<void(const protocol::cookie&, std::string result_json)>;

/// How one run is submitted. The extension fields (docs/PROTOCOL.md) go into the RUN only when
/// set: a run that sets none sends the original client's RUN, byte for byte.
struct run_options {
  /// Detached: the broker drops the worker's RESULT. The future is ready at once (rc OK, no
  /// result) and a result handler is never called, as with the original client.
  bool detach = false;
  /// The cookie that names the run (to cancel it later); a fresh random one when empty.
  std::optional<protocol::cookie> cookie;
  /// Extension `priority`: the order of waiting runs at the node (higher first; its default 0).
  std::optional<std::int64_t> priority;
  /// Extension `retries`: how often the node runs the task again when its worker goes away
  /// (0 to 1000; else the node answers BAD_PACKET); the RESULT then reports `attempts`.
  std::optional<std::int64_t> retries;
  /// Extension `timeout`: the node answers EXCEPTION `Timed out: ...` when no RESULT came
  /// within this long of the RUN's arrival (sent in seconds, to the millisecond; must be > 0).
  std::optional<std::chrono::milliseconds> timeout;
  /// Extension `progress`: when set (and the run is not detached), the RUN asks for the
  /// worker's PROGRESS packets and each is handed to it.
  progress_handler on_progress;
};

/// Gets the RESULT of one run. It runs on the client's I/O thread: it must not block, and must
/// not wait for another run of the same client.
using result_handler = std::function<void(task_result)>;

/// A connection to a broker's client endpoint (`tcp://HOST:PORT`, `tcp://[V6]:PORT`,
/// `tls://HOST:PORT` or `socket:///PATH`), with any number of runs in flight on it. All members are
/// thread-safe. When the connection drops, every open run ends with BROKER_WENT_AWAY and later runs
/// end so at once; a client does not reconnect.
class client {
public:
  /// Connects now; throws connect_error when the URL is bad, a TLS file cannot be used, the
  /// broker cannot be reached or its TLS handshake fails (the message says why).
  explicit client(const std::string& url, client_options options = {});

  /// Closes the connection (open runs end with BROKER_WENT_AWAY) and joins the I/O thread.
  /// Never destroy a client from one of its result handlers.
  ~client();

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Submits a run of `pipeline` with `variables_json` (JSON text, sent as it is); the future
  /// gets its RESULT.
  std::future<task_result> run(std::string pipeline, std::string variables_json,
                               run_options options = {});

  /// Submits a run; `on_result` gets its RESULT. Returns the cookie that names the run.
  protocol::cookie run(std::string pipeline, std::string variables_json, result_handler on_result,
                       run_options options = {});

  /// Asks the broker to cancel the run named `c`; the run still ends with a RESULT (EXCEPTION
  /// `Cancelled` when the worker stopped it).
  void cancel(const protocol::cookie& c);

  /// Closes the connection now; open runs end with BROKER_WENT_AWAY.
  void close();

  /// Whether the connection is still open.
  bool connected() const noexcept;

  /// What ended the connection when no retry would mend it (the node refused the client
  /// certificate after the TLS 1.3 handshake), or nullopt.
  std::optional<connection_failure> failure() const;

private:
  protocol::cookie submit(std::string pipeline, std::string variables_json,
                          result_handler on_result, const run_options& options);

  class session;
  struct io_runtime;

  std::unique_ptr<io_runtime> io_;
};

} // namespace rcbroker::client

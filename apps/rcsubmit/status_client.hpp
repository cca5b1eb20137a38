#pragma once

// rcsubmit's view of a node's admin endpoint: one HTTP GET, and the status as terminal tables.
// The admin tests use it too.

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>

namespace rcsubmit {

/// The answer to one HTTP request, or why there was none.
struct http_reply {
  unsigned status = 0; ///< 0 when no response came (the error says why)
  std::string content_type;
  std::string body;
  std::string error;
};

/// Sends `GET target` to the admin endpoint at `address` (HOST:PORT, [V6]:PORT or PORT, as the
/// `admin` setting) and reads the response, all within `timeout`. Bodies over 4 MiB are refused.
http_reply http_get(std::string_view address, std::string_view target,
                    std::chrono::milliseconds timeout = std::chrono::seconds{5});

/// Renders the JSON of `GET /status` as text tables for a terminal: a summary, then the workers
/// (name, capacity, in flight), the clients (name, in flight) and, when clustered, the cluster.
/// Returns false (and an explanation in `table`) when the JSON is not a status document.
bool render_status_table(std::string_view json, std::string& table);

/// How print_status shows the status.
enum class status_format {
  table, ///< text tables for a terminal (render_status_table)
  json,  ///< the node's `GET /status` document as it is, one JSON object, for programs
};

/// Fetches the status of the node whose admin endpoint is `address` and prints it to `out` in
/// `format`, or an error to `err`. Returns a process exit code: 0, or 1 when it failed.
int print_status(std::string_view address, std::ostream& out, std::ostream& err,
                 status_format format = status_format::table);

} // namespace rcsubmit

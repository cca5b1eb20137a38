#pragma once

// The one writer of the wire protocol. A peer's packet (RUN, CANCEL, REGISTER, a worker's RESULT)
// takes the form an original ReasonChip peer writes: every field of the protocol table, in table
// order, nulls included, as compact JSON. The broker's own answers are short: a RESULT with
// `packet_type`, `cookie`, `rc` and `error` only, and a SHUTDOWN with its type alone.

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::protocol {

/// The extension fields a client's RUN may carry (docs/PROTOCOL.md). Each is appended after the
/// table's fields only when set, so a RUN that sets none is byte for byte an original client's.
struct run_extensions {
  /// `timeout`: the task's deadline, written in seconds (to the millisecond).
  std::optional<std::chrono::milliseconds> timeout;
  /// `priority`: queue order, higher first (the node's default is 0).
  std::optional<std::int64_t> priority;
  /// `progress`: true asks for the worker's PROGRESS packets (false is not written).
  bool progress = false;
  /// `retries`: runs again this often when its worker goes away (the node checks 0 to 1000).
  std::optional<std::int64_t> retries;
};

/// A client's RUN: `pipeline` names the work, `variables_json` is carried as an opaque string;
/// the extension fields that `extensions` sets follow the table's fields.
frame make_run(const cookie& c, std::string_view pipeline, std::string_view variables_json,
               bool detach, const run_extensions& extensions = {});

/// A CANCEL for the task named `c` (a client's, or the broker's for an orphaned task).
frame make_cancel(const cookie& c);

/// A worker's REGISTER of `capacity` slots; `token` and `pipelines` (the pipelines the worker
/// serves), when given, are appended in that order as extension fields after the table's fields
/// (an original broker ignores them).
frame make_register(std::int64_t capacity, const std::optional<std::string>& token = {},
                    const std::optional<std::vector<std::string>>& pipelines = {});

/// A worker's PROGRESS for the task `c` (extension): `{"packet_type":"PROGRESS","cookie":C,
/// "result":TEXT}`, `result_json` carried as a string like a RESULT's.
frame make_progress(const cookie& c, std::string_view result_json);

/// A worker's RESULT for `c`. `result` is JSON text carried as a string; absent fields are null.
frame make_result(const cookie& c, result_code rc, const std::optional<std::string>& result,
                  const std::optional<std::string>& error = {},
                  const std::optional<std::vector<std::string>>& stacktrace = {});

/// The broker's own RESULT: `{"packet_type":"RESULT","cookie":C,"rc":RC,"error":TEXT}`, with the
/// cookie in lower case (or null) and `error` escaped so the packet is valid JSON whatever the
/// text holds.
frame make_broker_result(const std::optional<cookie>& c, result_code rc, std::string_view error);

/// A copy of `packet` (a well-formed JSON object, as read_packet checked it) with the extension
/// field `"name":value` added before its closing brace: one allocation, the rest untouched.
frame append_integer_field(const frame& packet, std::string_view name, std::int64_t value);

/// The SHUTDOWN packet the broker sends to every worker when it stops.
frame make_shutdown();

} // namespace rcbroker::protocol

#pragma once

// Packets as an original ReasonChip client or worker writes them: every field of the protocol
// table, in table order, nulls included, as compact JSON.

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::protocol {

/// A client's RUN: `pipeline` names the work, `variables_json` is carried as an opaque string.
frame make_run(const cookie& c, std::string_view pipeline, std::string_view variables_json,
               bool detach);

/// A client's CANCEL for the task named `c`.
frame make_cancel_request(const cookie& c);

/// A worker's REGISTER of `capacity` slots; `token`, when given, is appended as the extension
/// field `token` after the table's fields (an original broker ignores it).
frame make_register(std::int64_t capacity, const std::optional<std::string>& token = {});

/// A worker's RESULT for `c`. `result` is JSON text carried as a string; absent fields are null.
frame make_task_result(const cookie& c, result_code rc, const std::optional<std::string>& result,
                       const std::optional<std::string>& error = {},
                       const std::optional<std::vector<std::string>>& stacktrace = {});

} // namespace rcbroker::protocol

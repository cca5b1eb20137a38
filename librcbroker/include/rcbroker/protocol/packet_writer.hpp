#pragma once

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"

#include <optional>
#include <string_view>

namespace rcbroker::protocol {

/// A broker-made RESULT: `{"packet_type":"RESULT","cookie":C,"rc":RC,"error":TEXT}`, with the
/// cookie in lower case (or null) and `error` escaped so the packet is valid JSON whatever the
/// text holds (quotes, control characters, invalid UTF-8 replaced by U+FFFD).
frame make_result(const std::optional<cookie>& c, result_code rc, std::string_view error);

/// The SHUTDOWN packet the broker sends to every worker when it stops.
frame make_shutdown();

/// A broker-made CANCEL for `c` (used for orphaned tasks when `cancel-orphans` is on).
frame make_cancel(const cookie& c);

/// Appends `text` to `out` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view text);

} // namespace rcbroker::protocol

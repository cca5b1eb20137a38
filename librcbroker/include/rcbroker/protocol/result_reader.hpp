#pragma once

// Reads what a client needs from the packets a broker sends it: RESULTs.

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"

#include <optional>
#include <string>
#include <vector>

namespace rcbroker::protocol {

/// The fields of a RESULT packet; a field that is absent or `null` is `std::nullopt`.
struct result_fields {
  std::optional<packet_type> type;                    ///< RESULT, when the reading is ok()
  std::optional<protocol::cookie> cookie;             ///< the run it answers
  std::optional<result_code> rc;                      ///< always set when the reading is ok()
  std::optional<std::string> error;                   ///< what went wrong, for people
  std::optional<std::vector<std::string>> stacktrace; ///< the worker's trace, a line an element
  std::optional<std::string> result;                  ///< JSON text, as the worker sent it
};

/// What reading a frame as a RESULT gave: its fields, or why it is not a usable RESULT.
struct result_reading {
  result_fields fields;
  /// Empty when the frame is a RESULT with a known `rc`; otherwise a short reason, e.g.
  /// "unknown rc 'MAYBE'" or "field 'stacktrace' must be an array of strings".
  std::string error;

  /// Whether the frame is a RESULT a client can deliver.
  bool ok() const noexcept { return error.empty(); }
};

/// Reads `f` on demand with simdjson (in place when the frame carries its padding). Unknown
/// fields are skipped; a packet that is not a RESULT, lacks `rc`, or has a field of the wrong
/// type is an error. `fields.cookie` holds the cookie whenever it could be read.
result_reading read_result_packet(const frame& f);

} // namespace rcbroker::protocol

#pragma once

// Reads what a worker needs from the packets a broker sends it: RUN, CANCEL and SHUTDOWN.

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"

#include <optional>
#include <string>

namespace rcbroker::protocol {

/// The fields of a packet sent to a worker; a field that is absent or `null` is `std::nullopt`.
struct run_fields {
  std::optional<packet_type> type;        ///< always set when the reading is ok()
  std::optional<protocol::cookie> cookie; ///< set for RUN and CANCEL when the reading is ok()
  std::optional<std::string> pipeline;    ///< non-empty for RUN when the reading is ok()
  std::optional<std::string> variables;   ///< JSON text, as the client sent it
  bool detach = false;                    ///< `null` and absent read as false
};

/// What reading a frame sent to a worker gave: its fields, or why the frame is unusable.
struct run_reading {
  run_fields fields;
  /// Empty when the frame is a packet with a known type whose fields have their types;
  /// otherwise a short reason, e.g. "field 'variables' must be a string".
  std::string error;

  /// Whether the frame is a packet a worker can act on.
  bool ok() const noexcept { return error.empty(); }
};

/// Reads `f` on demand with simdjson (in place when the frame carries its padding). Unknown
/// fields are skipped. A packet without `packet_type`, and a RUN or CANCEL without a cookie (or
/// a RUN without a pipeline), is an error: a broker never sends one.
run_reading read_run_packet(const frame& f);

} // namespace rcbroker::protocol

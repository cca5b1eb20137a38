#pragma once

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace rcbroker::protocol {

/// The fields of a packet that routing needs; everything else stays in the frame, unread.
/// A field that is absent or JSON `null` is `std::nullopt`.
struct packet_fields {
  std::optional<packet_type> type;
  std::optional<protocol::cookie> cookie;
  std::optional<std::int64_t> capacity; ///< as sent; the caller checks that it is >= 1
  std::optional<std::string> pipeline;  ///< as sent (may be empty: the caller rejects that)
  bool detach = false;                  ///< `null` and absent read as false
  std::optional<std::string> token;     ///< extension: worker token in REGISTER
  std::optional<double> timeout; ///< extension: RUN's deadline in seconds (caller checks > 0)
  std::optional<result_code> rc; ///< RESULT's outcome (for the broker's counters)
};

/// What reading a frame gave: the fields, or why the frame is a bad packet.
struct read_result {
  packet_fields fields;
  /// Empty when the frame is a well-formed packet; otherwise a short reason for an operator
  /// and for the RESULT's `error` text, e.g. "field 'capacity' must be an integer".
  std::string error;

  bool ok() const noexcept { return error.empty(); }
};

/// Reads `f` on demand with simdjson. Checks that the payload is one JSON object in valid
/// UTF-8, that `packet_type` and `rc` (when present) are known values, and that every known
/// field has its JSON type (or null); unknown fields are skipped. On error, `fields.cookie` still
/// holds the cookie when one could be read, so the caller can answer with it.
read_result read_packet(const frame& f);

} // namespace rcbroker::protocol

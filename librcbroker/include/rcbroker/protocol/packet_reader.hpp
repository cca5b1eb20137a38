#pragma once

// The one reader of the wire protocol, for every side: the broker reads the fields routing needs
// and leaves the rest in the frame it forwards (checked, not copied); the client and worker
// libraries read every field.

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::protocol {

/// The fields of a packet; a field that is absent or JSON `null` is `std::nullopt`. The payload
/// fields (`variables`, `error`, `result`, `stacktrace`) are filled only by `read_scope::whole`.
struct packet_fields {
  std::optional<packet_type> type;
  std::optional<protocol::cookie> cookie;
  std::optional<std::int64_t> capacity; ///< as sent; the caller checks that it is >= 1
  std::optional<std::string> pipeline;  ///< as sent (may be empty: the caller rejects that)
  bool detach = false;                  ///< `null` and absent read as false
  std::optional<std::string> token;     ///< extension: worker token in REGISTER
  std::optional<double> timeout; ///< extension: RUN's deadline in seconds (caller checks > 0)
  bool progress = false;         ///< extension: RUN wants its worker's PROGRESS packets
  std::optional<std::int64_t> priority; ///< extension: RUN's queue priority (higher first)
  std::optional<std::int64_t> retries;  ///< extension: RUN's retries on worker loss (caller checks)
  /// Extension: the pipelines a REGISTERing worker serves (absent: every pipeline).
  std::optional<std::vector<std::string>> pipelines;
  std::optional<result_code> rc;                      ///< RESULT's outcome
  std::optional<std::string> variables;               ///< RUN's JSON text, as the client sent it
  std::optional<std::string> error;                   ///< RESULT's text for people
  std::optional<std::string> result;                  ///< RESULT's JSON text, as the worker sent it
  std::optional<std::vector<std::string>> stacktrace; ///< RESULT's trace, a line an element
  /// Extension: how many workers the task of a RESULT was given to (read_scope::whole only; the
  /// node appends it for a RUN that asked for `retries`). A value that is no integer is not read.
  std::optional<std::int64_t> attempts;
};

/// Which fields a reading copies out of the frame; both check the whole frame alike.
enum class read_scope {
  routing, ///< all but the payload fields, which stay in the frame (the broker forwards them)
  whole,   ///< every field (what a client or a worker acts on)
};

/// What reading a frame gave: the fields, or why the frame is a bad packet.
struct read_result {
  packet_fields fields;
  /// Empty when the frame is a well-formed packet; otherwise a short reason for an operator
  /// and for the RESULT's `error` text, e.g. "field 'capacity' must be an integer".
  std::string error;

  bool ok() const noexcept { return error.empty(); }
};

/// Reads `f` on demand with simdjson, in place when the frame carries its padding. Checks that
/// the payload is one JSON object in valid UTF-8, that `packet_type` and `rc` (when present) are
/// known values, and that every known field has its JSON type (or null); unknown fields are
/// checked as JSON and skipped. On error, `fields.cookie` still holds the cookie when one could
/// be read, so the caller can answer with it.
read_result read_packet(const frame& f, read_scope scope = read_scope::routing);

/// As read_packet, for a payload with `padded_size` readable bytes from its start (read in place
/// when that leaves `frame_padding` bytes behind it, else copied).
read_result read_payload(std::string_view payload, std::size_t padded_size, read_scope scope);

/// What a transport needs to frame one packet's exchange, found without checking the rest of
/// the packet (its connection reads it whole afterwards, off the I/O thread when it is large).
struct packet_peek {
  std::optional<packet_type> type;
  std::optional<protocol::cookie> cookie;
  bool detach = false;
};

/// The top-level `packet_type`, `cookie` and `detach` of `f`, each absent when missing or not
/// readable; the other values are skipped over, not checked.
packet_peek peek_packet(const frame& f);

/// Why `fields` is not a RESULT a client can deliver (it needs an `rc`), or an empty string.
std::string check_result_packet(const packet_fields& fields);

/// Why `fields` is not a packet a worker can act on (a type; RUN and CANCEL a cookie; RUN a
/// pipeline: a broker never sends less), or an empty string.
std::string check_worker_packet(const packet_fields& fields);

} // namespace rcbroker::protocol

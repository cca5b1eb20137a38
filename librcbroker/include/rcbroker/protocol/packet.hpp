#pragma once

#include <optional>
#include <string_view>

namespace rcbroker::protocol {

/// The `packet_type` values of the wire protocol. `progress` is an extension: a worker's partial
/// output, sent on to a client only when its RUN asked for it (`"progress": true`).
enum class packet_type { register_worker, shutdown, run, cancel, result, progress };

/// The `rc` values a RESULT packet may carry.
enum class result_code {
  ok,
  bad_packet,
  unsupported_packet_type,
  no_capacity,
  cookie_not_found,
  cookie_collision,
  worker_went_away,
  broker_went_away,
  processor_exception,
  exception,
};

/// The wire spelling of a packet type, e.g. "REGISTER".
std::string_view to_string(packet_type type) noexcept;

/// The wire spelling of a result code, e.g. "NO_CAPACITY".
std::string_view to_string(result_code code) noexcept;

/// Reads a packet type from its exact wire spelling.
std::optional<packet_type> parse_packet_type(std::string_view text) noexcept;

/// Reads a result code from its exact wire spelling.
std::optional<result_code> parse_result_code(std::string_view text) noexcept;

} // namespace rcbroker::protocol

#pragma once

// The stateless rules of docs/PROTOCOL.md that a connection applies to each packet its peer
// sends, before anything reaches the Switchboard: a pure function, tested without sockets.

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/protocol/packet_reader.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::actors {

/// What a connection does with one packet from its peer.
struct packet_verdict {
  /// The connection's action.
  enum class action {
    route,  ///< pass `routed` to the Switchboard with the rest of the read (frame still unset)
    enroll, ///< pass what came before, then REGISTER `capacity` slots at the Switchboard
    answer, ///< send the peer the broker's RESULT (`cookie`, `rc`, `error`)
    close,  ///< close the connection: a bad packet without a readable cookie (`error` says why)
    drop,   ///< ignore the packet (`error` says why, for the log)
  };
  action what = action::drop;
  routed_packet routed;       ///< route: what the Switchboard gets
  std::uint32_t capacity = 0; ///< enroll: the slots
  /// enroll: the pipelines the worker serves (absent: every pipeline).
  std::optional<std::vector<std::string>> pipelines;
  std::optional<protocol::cookie> cookie; ///< answer: the cookie to answer with (may be none)
  protocol::result_code rc = protocol::result_code::bad_packet; ///< answer: its rc
  std::string error; ///< answer, close, drop: the reason, as the RESULT's `error` text
  /// Whether the peer misbehaved (a bad packet, a wrong token): the connection counts and logs
  /// it; other answers (e.g. UNSUPPORTED_PACKET_TYPE) are the protocol's normal course.
  bool misbehaved = false;
};

/// Whether a worker gave the expected token, compared without leaking either through timing.
bool same_token(std::string_view given, std::string_view expected) noexcept;

/// The verdict on packet `r` (as read_packet read it for routing) from a peer of `role` (client
/// or worker); a worker's REGISTER must carry `worker_token` when that is not empty (compared in
/// constant time). Strings the verdict carries (a RUN's pipeline) are moved out of `r`.
packet_verdict check_packet(peer_role role, protocol::read_result r, std::string_view worker_token);

} // namespace rcbroker::actors

#pragma once

// The stateless rules of docs/PROTOCOL.md that a connection applies to each packet its peer
// sends, before anything reaches the Switchboard: a pure function, tested without sockets.

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/protocol/packet_reader.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::actors {

/// Why a connection refused a packet: the `reason` of rcbroker_packets_refused_total.
enum class packet_refusal : std::uint8_t {
  invalid_json,        ///< not one JSON object in valid UTF-8 (or empty, or nested too deeply)
  unknown_packet_type, ///< a packet_type the protocol does not know
  bad_field,           ///< a known field of the wrong type or out of its range
  missing_field,       ///< a field the packet needs is missing (cookie, pipeline, capacity)
  wrong_role,          ///< a packet type this side does not take (UNSUPPORTED_PACKET_TYPE)
  wrong_token,         ///< a worker's REGISTER without the node's worker-token
};

/// How many refusal reasons there are.
inline constexpr std::size_t packet_refusal_count =
    static_cast<std::size_t>(packet_refusal::wrong_token) + 1;

/// The label of a refusal reason, e.g. "wrong_token".
std::string_view to_string(packet_refusal reason) noexcept;

/// The packets a node's connections refused, by reason. The Broker makes one and hands it to
/// every connection it spawns; a connection counts a refusal with one relaxed atomic increment
/// (nothing for a packet that passes), and the Broker reads the counts for its snapshot.
class packet_refusals {
public:
  void count(packet_refusal reason) noexcept {
    counts_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }

  /// The counts, by reason in the enum's order.
  std::vector<std::uint64_t> values() const;

private:
  std::array<std::atomic<std::uint64_t>, packet_refusal_count> counts_{};
};

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
  /// Set when the packet is refused (answered BAD_PACKET or UNSUPPORTED_PACKET_TYPE, closed on,
  /// or dropped): why, for the connection's count.
  std::optional<packet_refusal> refused;
};

/// Whether a worker gave the expected token, compared without leaking either through timing.
bool same_token(std::string_view given, std::string_view expected) noexcept;

/// The verdict on packet `r` (as read_packet read it for routing) from a peer of `role` (client
/// or worker); a worker's REGISTER must carry `worker_token` when that is not empty (compared in
/// constant time). Strings the verdict carries (a RUN's pipeline) are moved out of `r`.
packet_verdict check_packet(peer_role role, protocol::read_result r, std::string_view worker_token);

} // namespace rcbroker::actors

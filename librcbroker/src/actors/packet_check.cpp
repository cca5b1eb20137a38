#include "rcbroker/actors/packet_check.hpp"

#include "rcbroker/actors/switchboard.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace rcbroker::actors {

namespace {

using protocol::packet_type;
using protocol::result_code;
using action = packet_verdict::action;

packet_verdict answer(packet_refusal why, const std::optional<cookie>& c, result_code rc,
                      std::string error, bool misbehaved = false) {
  packet_verdict v;
  v.what = action::answer;
  v.refused = why;
  v.cookie = c;
  v.rc = rc;
  v.error = std::move(error);
  v.misbehaved = misbehaved;
  return v;
}

packet_verdict route(routed_packet routed) {
  packet_verdict v;
  v.what = action::route;
  v.routed = std::move(routed);
  return v;
}

/// The reason class of what read_packet found wrong (its error texts, packet_reader.cpp).
packet_refusal refusal_of(std::string_view read_error) {
  auto starts = [read_error](std::string_view prefix) {
    return read_error.substr(0, prefix.size()) == prefix;
  };
  if (starts("unknown packet_type"))
    return packet_refusal::unknown_packet_type;
  if (starts("field '") || starts("cookie is not") || starts("unknown rc"))
    return packet_refusal::bad_field;
  return packet_refusal::invalid_json; // invalid JSON or UTF-8, not an object, empty, too deep
}

/// A verdict that drops the packet: `error` says why, for the log.
packet_verdict drop(std::string error) {
  packet_verdict v;
  v.error = std::move(error);
  v.refused = packet_refusal::missing_field;
  return v;
}

packet_verdict bad_packet(peer_role role, const protocol::read_result& r) {
  // A worker's REGISTER has no cookie, and a worker takes a RESULT without one: it gets the
  // BAD_PACKET that a missing capacity gets (docs/PROTOCOL.md), not a closed connection.
  bool worker_register = role == peer_role::worker && r.fields.type == packet_type::register_worker;
  if (!r.fields.cookie && !worker_register) {
    // An original client asserts every packet carries a cookie: closing is the clean answer.
    packet_verdict v;
    v.what = action::close;
    v.error = "bad packet without a cookie: " + r.error;
    v.misbehaved = true;
    v.refused = refusal_of(r.error);
    return v;
  }
  return answer(refusal_of(r.error), r.fields.cookie, result_code::bad_packet, r.error, true);
}

packet_verdict client_packet(protocol::packet_fields& p) {
  if (p.type == packet_type::run) {
    if (!p.cookie)
      return answer(packet_refusal::missing_field, p.cookie, result_code::bad_packet,
                    "Missing cookie");
    if (!p.pipeline || p.pipeline->empty())
      return answer(packet_refusal::missing_field, p.cookie, result_code::bad_packet,
                    "Missing pipeline");
    std::uint32_t timeout_ms = 0;
    if (p.timeout) {
      // In milliseconds, rounded up, it must fit 32 bits (about 49 days).
      constexpr double max_seconds = std::numeric_limits<std::uint32_t>::max() / 1000.0;
      if (!(*p.timeout > 0 && *p.timeout <= max_seconds))
        return answer(packet_refusal::bad_field, p.cookie, result_code::bad_packet,
                      "Bad timeout: a number of seconds > 0 and at most 4294967");
      timeout_ms = static_cast<std::uint32_t>(std::ceil(*p.timeout * 1000.0));
    }
    if (p.retries && (*p.retries < 0 || *p.retries > max_retries_on_worker_loss))
      return answer(packet_refusal::bad_field, p.cookie, result_code::bad_packet,
                    "Bad retries: an integer from 0 to " +
                        std::to_string(max_retries_on_worker_loss));
    routed_packet run{packet_type::run, *p.cookie, p.detach, false, {}, {}, timeout_ms};
    run.retries = p.retries ? static_cast<std::int32_t>(*p.retries) : -1;
    run.progress = p.progress;
    run.priority = p.priority.value_or(0);
    run.pipeline = std::move(*p.pipeline);
    return route(std::move(run));
  }
  if (p.type == packet_type::cancel) {
    if (!p.cookie)
      return answer(packet_refusal::missing_field, p.cookie, result_code::bad_packet,
                    "Missing cookie");
    return route({packet_type::cancel, *p.cookie, false, false, {}, {}});
  }
  return answer(packet_refusal::wrong_role, p.cookie, result_code::unsupported_packet_type,
                "Packet type not supported on this client");
}

bool valid_pipelines(const std::vector<std::string>& names) {
  return !names.empty() &&
         std::none_of(names.begin(), names.end(), [](const auto& n) { return n.empty(); });
}

packet_verdict worker_packet(protocol::packet_fields& p, std::string_view worker_token) {
  if (p.type == packet_type::register_worker) {
    if (!worker_token.empty() && !same_token(p.token.value_or(""), worker_token))
      return answer(packet_refusal::wrong_token, p.cookie, result_code::bad_packet,
                    "Missing or wrong worker token", true);
    if (!p.capacity || *p.capacity < 1 || *p.capacity > std::numeric_limits<std::uint32_t>::max())
      return answer(p.capacity ? packet_refusal::bad_field : packet_refusal::missing_field,
                    p.cookie, result_code::bad_packet,
                    "Missing or invalid capacity: REGISTER needs an integer capacity >= 1");
    if (p.pipelines && !valid_pipelines(*p.pipelines))
      return answer(packet_refusal::bad_field, p.cookie, result_code::bad_packet,
                    "Bad pipelines: a non-empty array of non-empty pipeline names");
    packet_verdict v;
    v.what = action::enroll;
    v.capacity = static_cast<std::uint32_t>(*p.capacity);
    v.pipelines = std::move(p.pipelines);
    return v;
  }
  if (p.type == packet_type::progress) {
    if (!p.cookie)
      return drop("PROGRESS without a cookie");
    return route({packet_type::progress, *p.cookie, false, false, {}, {}});
  }
  if (p.type == packet_type::result) {
    if (!p.cookie)
      return drop("RESULT without a cookie");
    // The rc was read anyway: passing it spares the Switchboard a second read for its counters.
    return route({packet_type::result,
                  *p.cookie,
                  false,
                  p.rc.has_value(),
                  p.rc.value_or(result_code::ok),
                  {}});
  }
  return answer(packet_refusal::wrong_role, p.cookie, result_code::unsupported_packet_type,
                "Packet type not supported on this worker");
}

} // namespace

std::string_view to_string(packet_refusal reason) noexcept {
  // In the enum's order.
  static constexpr std::string_view names[packet_refusal_count] = {
      "invalid_json",  "unknown_packet_type", "bad_field",
      "missing_field", "wrong_role",          "wrong_token"};
  return names[static_cast<std::size_t>(reason)];
}

std::vector<std::uint64_t> packet_refusals::values() const {
  std::vector<std::uint64_t> out;
  for (auto& c : counts_)
    out.push_back(c.load(std::memory_order_relaxed));
  return out;
}

// SHA-256 digests compared in constant time: timing tells nothing about the token, not even
// its length.
bool same_token(std::string_view given, std::string_view expected) noexcept {
  unsigned char a[SHA256_DIGEST_LENGTH];
  unsigned char b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

packet_verdict check_packet(peer_role role, protocol::read_result r,
                            std::string_view worker_token) {
  if (!r.ok())
    return bad_packet(role, r);
  if (role == peer_role::client)
    return client_packet(r.fields);
  return worker_packet(r.fields, worker_token);
}

} // namespace rcbroker::actors

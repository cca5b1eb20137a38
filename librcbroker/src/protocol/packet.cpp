#include "rcbroker/protocol/packet.hpp"

#include <array>
#include <utility>

namespace rcbroker::protocol {

namespace {

constexpr std::array<std::pair<packet_type, std::string_view>, 6> packet_type_names{{
  {packet_type::register_worker, "REGISTER"},
  {packet_type::shutdown, "SHUTDOWN"},
  {packet_type::run, "RUN"},
  {packet_type::cancel, "CANCEL"},
  {packet_type::result, "RESULT"},
  {packet_type::progress, "PROGRESS"},
}};

constexpr std::array<std::pair<result_code, std::string_view>, 10> result_code_names{{
  {result_code::ok, "OK"},
  {result_code::bad_packet, "BAD_PACKET"},
  {result_code::unsupported_packet_type, "UNSUPPORTED_PACKET_TYPE"},
  {result_code::no_capacity, "NO_CAPACITY"},
  {result_code::cookie_not_found, "COOKIE_NOT_FOUND"},
  {result_code::cookie_collision, "COOKIE_COLLISION"},
  {result_code::worker_went_away, "WORKER_WENT_AWAY"},
  {result_code::broker_went_away, "BROKER_WENT_AWAY"},
  {result_code::processor_exception, "PROCESSOR_EXCEPTION"},
  {result_code::exception, "EXCEPTION"},
}};

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                         Enum value) noexcept {
  for (const auto& [e, name] : names)
    if (e == value)
      return name;
  return "?";
}

template <class Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                             std::string_view text) noexcept {
  for (const auto& [e, name] : names)
    if (name == text)
      return e;
  return std::nullopt;
}

} // namespace

std::string_view to_string(packet_type type) noexcept {
  return name_of(packet_type_names, type);
}

std::string_view to_string(result_code code) noexcept {
  return name_of(result_code_names, code);
}

std::optional<packet_type> parse_packet_type(std::string_view text) noexcept {
  return value_of(packet_type_names, text);
}

std::optional<result_code> parse_result_code(std::string_view text) noexcept {
  return value_of(result_code_names, text);
}

} // namespace rcbroker::protocol

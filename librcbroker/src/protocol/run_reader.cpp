#include "rcbroker/protocol/run_reader.hpp"

#include "json_object_walk.hpp"

namespace rcbroker::protocol {

namespace {

namespace ondemand = simdjson::ondemand;

// Reads one field into `fields`; returns why it is unusable, or an empty string.
std::string read_field(std::string_view name, ondemand::value& v, run_fields& fields) {
  std::optional<std::string> text;
  if (name == "packet_type") {
    if (!detail::read_nullable_string(v, text))
      return detail::wrong_type(name, "a string");
    fields.type = text ? parse_packet_type(*text) : std::nullopt;
    if (text && !fields.type)
      return "unknown packet_type '" + *text + "'";
  } else if (name == "cookie") {
    if (!detail::read_nullable_string(v, text))
      return detail::wrong_type(name, "a string");
    fields.cookie = text ? cookie::parse(*text) : std::nullopt;
    if (text && !fields.cookie)
      return "cookie is not a UUID";
  } else if (name == "pipeline") {
    if (!detail::read_nullable_string(v, fields.pipeline))
      return detail::wrong_type(name, "a string");
  } else if (name == "variables") {
    if (!detail::read_nullable_string(v, fields.variables))
      return detail::wrong_type(name, "a string");
  } else if (name == "detach") {
    if (!detail::read_nullable_bool(v, fields.detach))
      return detail::wrong_type(name, "a boolean");
  }
  return {};
}

} // namespace

run_reading read_run_packet(const frame& f) {
  run_reading reading;
  reading.error = detail::walk_object(f, [&](std::string_view name, ondemand::value& v) {
    return read_field(name, v, reading.fields);
  });
  if (!reading.ok())
    return reading;
  auto& fields = reading.fields;
  if (!fields.type)
    reading.error = "missing packet_type";
  else if ((fields.type == packet_type::run || fields.type == packet_type::cancel) &&
           !fields.cookie)
    reading.error = "missing cookie";
  else if (fields.type == packet_type::run && (!fields.pipeline || fields.pipeline->empty()))
    reading.error = "missing pipeline";
  return reading;
}

} // namespace rcbroker::protocol

#include "rcbroker/protocol/result_reader.hpp"

#include "json_object_walk.hpp"

namespace rcbroker::protocol {

namespace {

namespace ondemand = simdjson::ondemand;

// Reads one field into `fields`; returns why it is unusable, or an empty string.
std::string read_field(std::string_view name, ondemand::value& v, result_fields& fields) {
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
  } else if (name == "rc") {
    if (!detail::read_nullable_string(v, text))
      return detail::wrong_type(name, "a string");
    fields.rc = text ? parse_result_code(*text) : std::nullopt;
    if (text && !fields.rc)
      return "unknown rc '" + *text + "'";
  } else if (name == "error") {
    if (!detail::read_nullable_string(v, fields.error))
      return detail::wrong_type(name, "a string");
  } else if (name == "result") {
    if (!detail::read_nullable_string(v, fields.result))
      return detail::wrong_type(name, "a string");
  } else if (name == "stacktrace") {
    if (!detail::read_nullable_strings(v, fields.stacktrace))
      return detail::wrong_type(name, "an array of strings");
  }
  return {};
}

} // namespace

result_reading read_result_packet(const frame& f) {
  result_reading reading;
  reading.error = detail::walk_object(f, [&](std::string_view name, ondemand::value& v) {
    return read_field(name, v, reading.fields);
  });
  if (!reading.ok())
    return reading;
  if (reading.fields.type != packet_type::result)
    reading.error = "not a RESULT packet";
  else if (!reading.fields.rc)
    reading.error = "RESULT without rc";
  return reading;
}

} // namespace rcbroker::protocol

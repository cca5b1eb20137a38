#pragma once

// Private to the protocol library: walks the root object of a frame with simdjson on demand and
// reads typed, nullable field values. The packet readers for clients and workers share it.

#include "rcbroker/protocol/frame.hpp"

#include <optional>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rcbroker::protocol::detail {

namespace ondemand = simdjson::ondemand;

/// A parser that once read a frame this large gives its buffers back afterwards.
inline constexpr std::size_t parser_retain_limit = 1u << 20;

/// Whether `v` is a well-formed `null`.
inline bool read_null(ondemand::value& v) {
  bool is_null = false;
  return !v.is_null().get(is_null) && is_null;
}

/// Reads a string or null into `out`; false for any other JSON type or a broken string.
inline bool read_nullable_string(ondemand::value& v, std::optional<std::string>& out) {
  out.reset();
  ondemand::json_type type;
  if (v.type().get(type))
    return false;
  if (type == ondemand::json_type::null)
    return read_null(v);
  if (type != ondemand::json_type::string)
    return false;
  std::string_view text;
  if (v.get_string().get(text))
    return false;
  out.emplace(text);
  return true;
}

/// Reads a boolean into `out`; null reads as false.
inline bool read_nullable_bool(ondemand::value& v, bool& out) {
  ondemand::json_type type;
  if (v.type().get(type))
    return false;
  if (type == ondemand::json_type::null) {
    out = false;
    return read_null(v);
  }
  return type == ondemand::json_type::boolean && !v.get_bool().get(out);
}

/// Reads an array of strings (or null) into `out`.
inline bool read_nullable_strings(ondemand::value& v,
                                  std::optional<std::vector<std::string>>& out) {
  out.reset();
  ondemand::json_type type;
  if (v.type().get(type))
    return false;
  if (type == ondemand::json_type::null)
    return read_null(v);
  ondemand::array items;
  if (type != ondemand::json_type::array || v.get_array().get(items))
    return false;
  std::vector<std::string> lines;
  for (auto item_result : items) {
    ondemand::value item;
    std::string_view text;
    if (std::move(item_result).get(item) || item.get_string().get(text))
      return false;
    lines.emplace_back(text);
  }
  out = std::move(lines);
  return true;
}

/// Walks the fields of the frame's root object, calling `on_field(name, value)` for each; a
/// non-empty string returned by `on_field` stops the walk and is returned. Returns an empty
/// string when the frame is one JSON object and every field was accepted, otherwise why not.
template <class OnField>
std::string walk_object(const frame& f, OnField&& on_field) {
  auto payload = f.payload();
  if (payload.empty())
    return "empty frame";
  // Frames read from a socket carry simdjson's padding and are parsed in place; others are
  // copied rather than read past their end.
  std::optional<simdjson::padded_string> copy;
  simdjson::padded_string_view json;
  if (f.padded_size() >= payload.size() + simdjson::SIMDJSON_PADDING) {
    json = simdjson::padded_string_view(payload.data(), payload.size(), f.padded_size());
  } else {
    copy.emplace(payload);
    json = *copy;
  }
  thread_local ondemand::parser parser;
  struct release_large_buffers {
    std::size_t size;
    ~release_large_buffers() {
      if (size > parser_retain_limit)
        parser = ondemand::parser{};
    }
  } release{payload.size()};

  ondemand::document doc;
  if (parser.iterate(json).get(doc))
    return "invalid JSON";
  ondemand::json_type type;
  if (doc.type().get(type))
    return "invalid JSON";
  if (type != ondemand::json_type::object)
    return "packet is not a JSON object";
  ondemand::object root;
  if (doc.get_object().get(root))
    return "invalid JSON";
  for (auto field_result : root) {
    ondemand::field field;
    std::string_view name;
    if (std::move(field_result).get(field) || field.unescaped_key().get(name))
      return "invalid JSON";
    ondemand::value& value = field.value();
    std::string problem = on_field(name, value);
    if (!problem.empty())
      return problem;
  }
  // At the end of the document current_location() fails; anything left is a second value.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS)
    return "invalid JSON";
  return {};
}

/// The error text for a field of the wrong JSON type.
inline std::string wrong_type(std::string_view name, std::string_view expected) {
  std::string text = "field '";
  text += name;
  text += "' must be ";
  text += expected;
  return text;
}

} // namespace rcbroker::protocol::detail

#include "rcbroker/protocol/packet_writer.hpp"

#include "rcbroker/protocol/json_string.hpp"

#include <initializer_list>
#include <string>
#include <utility>

namespace rcbroker::protocol {

namespace {

// Room for the field names and nulls of a full packet.
constexpr std::size_t skeleton_size = 192;

// Builds one packet field by field; the fields must be appended in table order.
class packet_text {
public:
  packet_text(packet_type type, std::size_t payload_hint) {
    out_.reserve(skeleton_size + payload_hint + frame_padding);
    out_ += R"({"packet_type":")";
    out_ += to_string(type);
    out_ += '"';
  }

  packet_text& null(std::string_view name) {
    key(name);
    out_ += "null";
    return *this;
  }

  packet_text& nulls(std::initializer_list<std::string_view> names) {
    for (auto name : names)
      null(name);
    return *this;
  }

  packet_text& string(std::string_view name, std::string_view value) {
    key(name);
    append_json_string(out_, value);
    return *this;
  }

  packet_text& nullable_string(std::string_view name, const std::optional<std::string>& value) {
    return value ? string(name, *value) : null(name);
  }

  packet_text& cookie_field(const std::optional<cookie>& c) {
    if (!c)
      return null("cookie");
    key("cookie");
    out_ += '"';
    out_ += c->to_string();
    out_ += '"';
    return *this;
  }

  packet_text& integer(std::string_view name, std::int64_t value) {
    key(name);
    out_ += std::to_string(value);
    return *this;
  }

  /// `value` as a number of seconds, exact to the millisecond (e.g. 1.5, 0.001, 30).
  packet_text& seconds(std::string_view name, std::chrono::milliseconds value) {
    key(name);
    auto ms = value.count();
    if (ms < 0)
      out_ += '-';
    auto magnitude = static_cast<unsigned long long>(ms);
    if (ms < 0)
      magnitude = 0 - magnitude;
    out_ += std::to_string(magnitude / 1000);
    if (auto fraction = magnitude % 1000; fraction != 0) {
      out_ += '.';
      out_ += static_cast<char>('0' + fraction / 100);
      out_ += static_cast<char>('0' + fraction / 10 % 10);
      out_ += static_cast<char>('0' + fraction % 10);
    }
    return *this;
  }

  packet_text& boolean(std::string_view name, bool value) {
    key(name);
    out_ += value ? "true" : "false";
    return *this;
  }

  packet_text& strings(std::string_view name,
                       const std::optional<std::vector<std::string>>& values) {
    if (!values)
      return null(name);
    key(name);
    out_ += '[';
    for (std::size_t i = 0; i < values->size(); ++i) {
      if (i > 0)
        out_ += ',';
      append_json_string(out_, (*values)[i]);
    }
    out_ += ']';
    return *this;
  }

  frame done() {
    out_ += '}';
    return frame::adopt(std::move(out_));
  }

private:
  void key(std::string_view name) {
    out_ += ",\"";
    out_ += name;
    out_ += "\":";
  }

  std::string out_;
};

} // namespace

frame make_run(const cookie& c, std::string_view pipeline, std::string_view variables_json,
               bool detach, const run_extensions& extensions) {
  packet_text text{packet_type::run, pipeline.size() + variables_json.size() * 2};
  text.cookie_field(c)
      .null("capacity")
      .string("pipeline", pipeline)
      .string("variables", variables_json)
      .boolean("detach", detach)
      .nulls({"rc", "error", "stacktrace", "result"});
  if (extensions.timeout)
    text.seconds("timeout", *extensions.timeout);
  if (extensions.priority)
    text.integer("priority", *extensions.priority);
  if (extensions.progress)
    text.boolean("progress", true);
  if (extensions.retries)
    text.integer("retries", *extensions.retries);
  return text.done();
}

frame make_cancel(const cookie& c) {
  return packet_text{packet_type::cancel, 0}
      .cookie_field(c)
      .nulls({"capacity", "pipeline", "variables", "detach", "rc", "error", "stacktrace", "result"})
      .done();
}

frame make_register(std::int64_t capacity, const std::optional<std::string>& token,
                    const std::optional<std::vector<std::string>>& pipelines) {
  std::size_t hint = token ? token->size() : 0;
  if (pipelines) {
    for (auto& name : *pipelines)
      hint += name.size() + 4;
  }
  packet_text text{packet_type::register_worker, hint};
  text.null("cookie")
      .integer("capacity", capacity)
      .nulls({"pipeline", "variables", "detach", "rc", "error", "stacktrace", "result"});
  if (token)
    text.string("token", *token);
  if (pipelines)
    text.strings("pipelines", pipelines);
  return text.done();
}

frame make_progress(const cookie& c, std::string_view result_json) {
  return packet_text{packet_type::progress, result_json.size() * 2}
      .cookie_field(c)
      .string("result", result_json)
      .done();
}

frame make_result(const cookie& c, result_code rc, const std::optional<std::string>& result,
                  const std::optional<std::string>& error,
                  const std::optional<std::vector<std::string>>& stacktrace) {
  std::size_t hint = (result ? result->size() * 2 : 0) + (error ? error->size() : 0);
  if (stacktrace) {
    for (auto& line : *stacktrace)
      hint += line.size() + 4;
  }
  return packet_text{packet_type::result, hint}
      .cookie_field(c)
      .nulls({"capacity", "pipeline", "variables", "detach"})
      .string("rc", to_string(rc))
      .nullable_string("error", error)
      .strings("stacktrace", stacktrace)
      .nullable_string("result", result)
      .done();
}

frame make_broker_result(const std::optional<cookie>& c, result_code rc, std::string_view error) {
  return packet_text{packet_type::result, error.size()}
      .cookie_field(c)
      .string("rc", to_string(rc))
      .string("error", error)
      .done();
}

frame make_shutdown() {
  return frame{R"({"packet_type":"SHUTDOWN"})"};
}

frame append_integer_field(const frame& packet, std::string_view name, std::int64_t value) {
  auto payload = packet.payload();
  auto close = payload.rfind('}');
  if (close == std::string_view::npos)
    return packet;
  auto before = payload.find_last_not_of(" \t\r\n", close == 0 ? 0 : close - 1);
  bool empty_object = before == std::string_view::npos || payload[before] == '{';
  auto number = std::to_string(value);
  std::string out;
  out.reserve(payload.size() + name.size() + number.size() + 4);
  out.append(payload.substr(0, close));
  if (!empty_object)
    out += ',';
  out += '"';
  out.append(name);
  out += "\":";
  out += number;
  out.append(payload.substr(close));
  return frame::adopt(std::move(out));
}

} // namespace rcbroker::protocol

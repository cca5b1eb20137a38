#include "grpc_packet.hpp"

#include "rcbroker/protocol/json_string.hpp"
#include "rcbroker/protocol/packet_reader.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace rcbroker::transport {

namespace {

// One JSON object, field by field.
class json_object {
public:
  explicit json_object(std::size_t hint) { out_.reserve(256 + hint + protocol::frame_padding); }

  void null(std::string_view name) { raw(name, "null"); }

  void raw(std::string_view name, std::string_view json) {
    key(name);
    out_ += json;
  }

  // proto3 has no unset string: an empty one is absent.
  void text(std::string_view name, const std::string& value, bool always = true) {
    if (!value.empty()) {
      key(name);
      protocol::append_json_string(out_, value);
    } else if (always) {
      null(name);
    }
  }

  template <class Strings>
  void strings(std::string_view name, const Strings& values, bool always = true) {
    if (values.empty()) {
      if (always)
        null(name);
      return;
    }
    key(name);
    out_ += '[';
    for (int i = 0; i < values.size(); ++i) {
      if (i > 0)
        out_ += ',';
      protocol::append_json_string(out_, values[i]);
    }
    out_ += ']';
  }

  void integer(std::string_view name, std::int64_t value, bool always = true) {
    if (value != 0)
      raw(name, std::to_string(value));
    else if (always)
      null(name);
  }

  void number(std::string_view name, double value) {
    if (value == 0)
      return;
    if (!std::isfinite(value)) {
      // JSON has no NaN or infinity: a string makes the reader name the field as mistyped.
      text(name, std::to_string(value));
      return;
    }
    char digits[32];
    auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    raw(name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }

  protocol::frame done() {
    out_ += '}';
    return protocol::frame::adopt(std::move(out_));
  }

private:
  void key(std::string_view name) {
    out_ += out_.empty() ? "{\"" : ",\"";
    out_ += name;
    out_ += "\":";
  }

  std::string out_;
};

} // namespace

protocol::frame to_frame(const reasonchip::ReasonChipPacket& m) {
  json_object o{m.variables().size() + m.result().size() + m.error().size()};
  o.text("packet_type", m.packet_type());
  o.text("cookie", m.cookie().value());
  o.integer("capacity", m.capacity());
  o.text("pipeline", m.pipeline());
  o.text("variables", m.variables());
  o.raw("detach", m.detach() ? "true" : "false");
  o.text("rc", m.rc());
  o.text("error", m.error());
  o.strings("stacktrace", m.stacktrace());
  o.text("result", m.result());
  o.text("token", m.token(), false);
  o.number("timeout", m.timeout());
  o.integer("priority", m.priority(), false);
  o.integer("retries", m.retries(), false);
  if (m.progress())
    o.raw("progress", "true");
  o.strings("pipelines", m.pipelines(), false);
  o.integer("attempts", m.attempts(), false);
  return o.done();
}

std::string to_message(const protocol::frame& f, reasonchip::ReasonChipPacket& m) {
  auto r = protocol::read_packet(f, protocol::read_scope::whole);
  if (!r.ok())
    return r.error;
  auto& p = r.fields;
  if (p.type)
    m.set_packet_type(std::string{protocol::to_string(*p.type)});
  if (p.cookie)
    m.mutable_cookie()->set_value(p.cookie->to_string());
  if (p.capacity)
    m.set_capacity(*p.capacity);
  if (p.pipeline)
    m.set_pipeline(std::move(*p.pipeline));
  if (p.variables)
    m.set_variables(std::move(*p.variables));
  m.set_detach(p.detach);
  if (p.rc)
    m.set_rc(std::string{protocol::to_string(*p.rc)});
  if (p.error)
    m.set_error(std::move(*p.error));
  if (p.stacktrace)
    for (auto& line : *p.stacktrace)
      m.add_stacktrace(std::move(line));
  if (p.result)
    m.set_result(std::move(*p.result));
  if (p.token)
    m.set_token(std::move(*p.token));
  if (p.timeout)
    m.set_timeout(*p.timeout);
  return {};
}

} // namespace rcbroker::transport

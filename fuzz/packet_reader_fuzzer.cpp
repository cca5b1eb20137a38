// libFuzzer target: protocol::read_packet on arbitrary payloads in a padded frame. It must never
// crash; whether it accepts a payload is checked against a grammar check of its own, the fields
// it reads against simdjson's DOM parser (which validates the whole document eagerly, unlike the
// on-demand reader under test), and every error must make a readable BAD_PACKET answer. The
// connection's stateless rules (actors::check_packet) must give each side a verdict that fits.
//
// Input: the frame's payload, as is.

#include "rcbroker/actors/packet_check.hpp"
#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <simdjson.h>
#include <string>
#include <string_view>

namespace {

namespace protocol = rcbroker::protocol;
namespace actors = rcbroker::actors;
namespace dom = simdjson::dom;

void check(bool ok, const char* what, std::string_view payload) {
  if (ok)
    return;
  std::fprintf(stderr, "packet_reader_fuzzer: %s\npayload: %.*s\n", what,
               static_cast<int>(payload.size()), payload.data());
  std::abort();
}

/// A strict check of RFC 8259's grammar, apart from simdjson: numbers of any size and escaped
/// unpaired surrogates are valid JSON here, as for an original peer (Python's json reads both).
class json_grammar {
public:
  static bool valid(std::string_view text) {
    json_grammar g{text};
    g.space();
    if (!g.value())
      return false;
    g.space();
    return g.i_ == text.size();
  }

private:
  explicit json_grammar(std::string_view text) : s_(text) {}

  bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }

  bool eat(char c) {
    if (!at(c))
      return false;
    ++i_;
    return true;
  }

  bool digits() {
    auto start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
      ++i_;
    return i_ > start;
  }

  void space() {
    while (at(' ') || at('\t') || at('\n') || at('\r'))
      ++i_;
  }

  bool value() {
    if (at('{') || at('['))
      return container();
    if (at('"'))
      return string();
    for (std::string_view word : {"true", "false", "null"})
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return true;
      }
    return number();
  }

  bool container() {
    bool object = eat('{');
    char close = object ? '}' : ']';
    if (!object)
      eat('[');
    space();
    if (eat(close))
      return true;
    do {
      space();
      if (object) {
        if (!string())
          return false;
        space();
        if (!eat(':'))
          return false;
        space();
      }
      if (!value())
        return false;
      space();
    } while (eat(','));
    return eat(close);
  }

  bool string() {
    if (!eat('"'))
      return false;
    while (i_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"')
        return true;
      if (c < 0x20)
        return false;
      if (c != '\\')
        continue;
      if (i_ >= s_.size())
        return false;
      char e = s_[i_++];
      if (e == 'u') {
        for (int k = 0; k < 4; ++k, ++i_)
          if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_])))
            return false;
      } else if (std::string_view{"\"\\/bfnrt"}.find(e) == std::string_view::npos) {
        return false;
      }
    }
    return false;
  }

  bool number() {
    eat('-');
    if (!eat('0') && !digits())
      return false;
    if (eat('.') && !digits())
      return false;
    if (eat('e') || eat('E')) {
      if (!eat('+'))
        eat('-');
      return digits();
    }
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// Two readings of one number agree to the last bits (the DOM parser may go through an integer).
bool same_number(const std::optional<double>& x, const std::optional<double>& y) {
  if (x.has_value() != y.has_value())
    return false;
  return !x || *x == *y || std::fabs(*x - *y) <= 1e-12 * std::max(std::fabs(*x), std::fabs(*y));
}

bool same_fields(const protocol::packet_fields& x, const protocol::packet_fields& y) {
  return x.type == y.type && x.cookie == y.cookie && x.capacity == y.capacity &&
         x.pipeline == y.pipeline && x.detach == y.detach && x.token == y.token && x.rc == y.rc &&
         same_number(x.timeout, y.timeout) && x.progress == y.progress &&
         x.priority == y.priority && x.retries == y.retries && x.pipelines == y.pipelines;
}

/// What the reader must make of a document the DOM parser accepted.
struct expectation {
  protocol::packet_fields fields;
  bool refused = false; ///< a known field has a wrong type or an unknown value
};

bool is_string_or_null(dom::element v) {
  return v.is_null() || v.is_string();
}

// Every known field, in document order: the reader reads them all, the last occurrence wins, and
// a field it refuses leaves the value read before (except packet_type and rc, which it clears).
expectation expect_from(dom::object object) {
  expectation e;
  auto& f = e.fields;
  for (auto [key, v] : object) {
    if (key == "packet_type" || key == "rc") {
      if (v.is_null()) {
        key == "rc" ? f.rc.reset() : f.type.reset();
      } else if (v.is_string()) {
        auto text = std::string_view{v.get_string().value()};
        if (key == "rc")
          f.rc = protocol::parse_result_code(text);
        else
          f.type = protocol::parse_packet_type(text);
        e.refused |= key == "rc" ? !f.rc : !f.type;
      } else {
        e.refused = true;
      }
    } else if (key == "cookie") {
      if (v.is_null()) {
        f.cookie.reset();
      } else if (v.is_string()) {
        if (auto c = protocol::cookie::parse(v.get_string().value()))
          f.cookie = c;
        else
          e.refused = true;
      } else {
        e.refused = true;
      }
    } else if (key == "capacity") {
      if (v.is_null())
        f.capacity.reset();
      else if (v.type() == dom::element_type::INT64)
        f.capacity = v.get_int64().value();
      else
        e.refused = true;
    } else if (key == "priority" || key == "retries") {
      auto& target = key == "priority" ? f.priority : f.retries;
      if (v.is_null())
        target.reset();
      else if (v.type() == dom::element_type::INT64)
        target = v.get_int64().value();
      else
        e.refused = true;
    } else if (key == "pipelines") {
      // Unlike the other fields, a refused list leaves none (as the reader reads stacktrace).
      f.pipelines.reset();
      if (v.is_array()) {
        std::vector<std::string> names;
        bool strings = true;
        dom::array list = v.get_array().value();
        for (auto name : list) {
          strings &= name.is_string();
          if (name.is_string())
            names.emplace_back(name.get_string().value());
        }
        if (strings)
          f.pipelines = std::move(names);
        else
          e.refused = true;
      } else {
        e.refused |= !v.is_null();
      }
    } else if (key == "timeout") {
      if (v.is_null())
        f.timeout.reset();
      else if (v.is_number())
        f.timeout = v.get_double().value();
      else
        e.refused = true;
    } else if (key == "pipeline" || key == "token") {
      auto& target = key == "pipeline" ? f.pipeline : f.token;
      if (v.is_null())
        target.reset();
      else if (v.is_string())
        target = std::string{v.get_string().value()};
      else
        e.refused = true;
    } else if (key == "detach" || key == "progress") {
      auto& target = key == "detach" ? f.detach : f.progress;
      if (v.is_null())
        target = false;
      else if (v.is_bool())
        target = v.get_bool().value();
      else
        e.refused = true;
    } else if (key == "variables" || key == "error" || key == "result") {
      e.refused |= !is_string_or_null(v);
    } else if (key == "stacktrace") {
      if (v.is_array()) {
        dom::array lines = v.get_array().value();
        for (auto line : lines)
          e.refused |= !line.is_string();
      } else {
        e.refused |= !v.is_null();
      }
    }
  }
  return e;
}

void check_round_trips(const protocol::packet_fields& f, std::string_view payload) {
  if (f.cookie) {
    auto text = f.cookie->to_string();
    check(text.size() == 36, "a cookie's text is not 36 characters", payload);
    for (char c : text)
      check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-',
            "a cookie's text is not lower-case hex", payload);
    check(protocol::cookie::parse(text) == f.cookie, "a cookie does not parse back", payload);
  }
  if (f.type)
    check(protocol::parse_packet_type(protocol::to_string(*f.type)) == f.type,
          "a packet_type does not parse back", payload);
  if (f.rc)
    check(protocol::parse_result_code(protocol::to_string(*f.rc)) == f.rc,
          "an rc does not parse back", payload);
}

// The BAD_PACKET answer to a refused packet must itself be a packet an original peer reads.
void check_error_answer(const protocol::read_result& r, std::string_view payload) {
  check(r.error.size() < 128, "an error text is long", payload);
  auto answer =
      protocol::make_broker_result(r.fields.cookie, protocol::result_code::bad_packet, r.error);
  auto back = protocol::read_packet(answer);
  check(back.ok(), "the BAD_PACKET answer is not a valid packet", answer.payload());
  check(back.fields.type == protocol::packet_type::result, "the answer is not a RESULT", payload);
  check(back.fields.rc == protocol::result_code::bad_packet, "the answer is not BAD_PACKET",
        payload);
  check(back.fields.cookie == r.fields.cookie, "the answer lost the cookie", payload);
}

// What a connection does with the packet fits what was read, for a client and for a worker
// (whose REGISTER must carry the token "t").
void check_verdicts(const protocol::read_result& r, std::string_view payload) {
  using action = actors::packet_verdict::action;
  const auto& f = r.fields;
  for (auto role : {actors::peer_role::client, actors::peer_role::worker}) {
    bool client = role == actors::peer_role::client;
    auto v = actors::check_packet(role, r, "t");
    switch (v.what) {
    case action::route:
      check(r.ok() && f.cookie && v.routed.id == *f.cookie, "routed without its cookie", payload);
      check(v.routed.type == f.type, "routed as another type", payload);
      check(client
                ? (f.type == protocol::packet_type::run || f.type == protocol::packet_type::cancel)
                : (f.type == protocol::packet_type::result ||
                   f.type == protocol::packet_type::progress),
            "routed a type this side may not send", payload);
      check((v.routed.timeout_ms > 0) == (f.type == protocol::packet_type::run && f.timeout),
            "a deadline that the RUN did not ask for", payload);
      break;
    case action::enroll:
      check(!client && r.ok() && f.type == protocol::packet_type::register_worker &&
                f.token == std::string{"t"} && f.capacity && v.capacity >= 1 &&
                static_cast<std::int64_t>(v.capacity) == *f.capacity,
            "enrolled slots that were not asked for right", payload);
      break;
    case action::answer:
      check(v.cookie == f.cookie, "answered with another cookie", payload);
      check(!v.error.empty() && v.error.size() < 128, "an answer without a short error", payload);
      check(r.ok() || v.rc == protocol::result_code::bad_packet,
            "a bad packet not answered BAD_PACKET", payload);
      break;
    case action::close:
      check(!r.ok() && !f.cookie, "closed on a packet it could answer", payload);
      break;
    case action::drop:
      check(!client && r.ok() &&
                (f.type == protocol::packet_type::result ||
                 f.type == protocol::packet_type::progress) &&
                !f.cookie,
            "dropped a packet it should act on", payload);
      break;
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view payload{reinterpret_cast<const char*>(data), size};
  auto read = protocol::read_packet(protocol::frame{payload});
  // The reader's parser is reused between frames: a second read must not differ.
  auto again = protocol::read_packet(protocol::frame::adopt(std::string{payload}));
  check(read.error == again.error && same_fields(read.fields, again.fields),
        "two reads of one payload differ", payload);
  check_round_trips(read.fields, payload);
  if (!read.ok())
    check_error_answer(read, payload);
  check_verdicts(read, payload);
  // Reading every field (as the client and worker libraries do) checks alike; it may only also
  // refuse a string it cannot unescape (an unpaired surrogate, which forwarding lets through).
  auto whole = protocol::read_packet(protocol::frame{payload}, protocol::read_scope::whole);
  check(whole.error == read.error || whole.error.find("is not a valid string") != std::string::npos,
        "reading every field refuses what reading for routing does not", payload);
  if (whole.ok())
    check(same_fields(read.fields, whole.fields), "reading every field reads other fields",
          payload);

  if (read.error == "JSON nested too deeply")
    return 0;
  bool json =
      simdjson::validate_utf8(payload.data(), payload.size()) && json_grammar::valid(payload);
  if (read.ok())
    check(json, "accepted a payload that is not JSON", payload);
  if (read.error == "invalid JSON")
    check(!json, "refused valid JSON as invalid", payload);

  // The DOM parser refuses some valid JSON (numbers out of a double's range, unpaired
  // surrogates); where it reads the payload, the reader must read the same fields.
  static dom::parser parser;
  dom::element root;
  auto error = parser.parse(data, size).get(root);
  if (error) {
    if (error == simdjson::UTF8_ERROR)
      check(read.error == "invalid UTF-8", "invalid UTF-8 not reported as such", payload);
    return 0;
  }
  if (!root.is_object()) {
    check(read.error == "packet is not a JSON object", "a non-object not reported as such",
          payload);
    return 0;
  }
  auto expected = expect_from(root.get_object().value());
  check(read.ok() == !expected.refused,
        read.ok() ? "accepted a packet with a bad field" : "refused a valid packet", payload);
  check(same_fields(read.fields, expected.fields), "fields differ from the DOM's", payload);
  return 0;
}

#include "rcbroker/protocol/packet_reader.hpp"

#include <cstdint>
#include <simdjson.h>
#include <string_view>
#include <type_traits>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rcbroker::protocol {

namespace ondemand = simdjson::ondemand;

namespace {

// Deeper nesting (only possible in unknown fields) is refused: the walk that validates skipped
// values recurses, and an original peer (Python's json) fails near depth 1000 anyway.
constexpr int max_nesting = 512;
static_assert(max_nesting < static_cast<int>(simdjson::DEFAULT_MAX_DEPTH) - 8);

// A parser that once read a frame this large gives its buffers back afterwards, so that one big
// frame does not pin several times its size per thread for good.
constexpr std::size_t parser_retain_limit = 1u << 20;

// Values quoted in error texts are cut to this many bytes.
constexpr std::size_t max_quoted = 40;

constexpr std::string_view invalid_json = "invalid JSON";
constexpr std::string_view too_deep = "JSON nested too deeply";

/// How checking one value went.
enum class outcome {
  ok,
  wrong_type, ///< valid JSON, but not the type the field needs
  bad_string, ///< a string simdjson cannot unescape (an unpaired UTF-16 surrogate)
  bad_json,   ///< not JSON at all: the rest of the frame cannot be trusted
  too_deep,   ///< nested deeper than max_nesting
};

bool is_json_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A scalar's raw token runs up to the next token, whitespace included.
std::string_view scalar_token(ondemand::value& v) noexcept {
  auto tok = v.raw_json_token();
  while (!tok.empty() && is_json_space(tok.back()))
    tok.remove_suffix(1);
  return tok;
}

// On-demand parsing checks neither escapes nor atoms it skips, so skipped scalars are checked
// here by grammar (stage 1 has already refused unescaped control characters and invalid UTF-8).
// Strings are checked without unescaping them, which also lets through the unpaired surrogate
// escapes that Python's json writes and reads.
//
// A string is checked 64 bytes at a time: backslashes and quotes become bit masks, the escaped
// characters are found with carries as in simdjson's stage 1, and every escaped character must be
// one JSON allows (a `u` followed by four hex digits). JSON text carried in a string
// (`variables`, `result`) has an escape every few bytes, so a scan from one escape to the next
// would be slow.

#if defined(__SSE2__)
/// 64 bytes, compared byte-wise; bit i of a mask stands for byte i.
class block64 {
public:
  explicit block64(const char* p) noexcept {
    for (int k = 0; k < 4; ++k)
      v_[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
  }

  std::uint64_t eq(char c) const noexcept {
    const __m128i needle = _mm_set1_epi8(c);
    std::uint64_t m = 0;
    for (int k = 0; k < 4; ++k)
      m |= bits(_mm_cmpeq_epi8(v_[k], needle)) << (16 * k);
    return m;
  }

  /// The bytes that may follow a backslash: " \ / b f n r t u.
  std::uint64_t escape_chars() const noexcept {
    std::uint64_t m = 0;
    for (int k = 0; k < 4; ++k) {
      const __m128i x = v_[k];
      auto is = [&x](char c) { return _mm_cmpeq_epi8(x, _mm_set1_epi8(c)); };
      const __m128i any = _mm_or_si128(
          _mm_or_si128(_mm_or_si128(is('"'), is('\\')), _mm_or_si128(is('/'), is('b'))),
          _mm_or_si128(_mm_or_si128(is('f'), is('n')),
                       _mm_or_si128(_mm_or_si128(is('r'), is('t')), is('u'))));
      m |= bits(any) << (16 * k);
    }
    return m;
  }

private:
  static std::uint64_t bits(__m128i x) noexcept {
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(x)) & 0xFFFFu);
  }

  __m128i v_[4];
};
#else
/// 64 bytes, compared byte-wise; bit i of a mask stands for byte i.
class block64 {
public:
  explicit block64(const char* p) noexcept : p_(p) {}

  std::uint64_t eq(char c) const noexcept {
    std::uint64_t m = 0;
    for (int i = 0; i < 64; ++i)
      m |= static_cast<std::uint64_t>(p_[i] == c) << i;
    return m;
  }

  /// The bytes that may follow a backslash: " \ / b f n r t u.
  std::uint64_t escape_chars() const noexcept {
    std::uint64_t m = 0;
    for (int i = 0; i < 64; ++i) {
      char c = p_[i];
      bool ok = c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
                c == 't' || c == 'u';
      m |= static_cast<std::uint64_t>(ok) << i;
    }
    return m;
  }

private:
  const char* p_;
};
#endif

// The characters escaped by a backslash, given a block's backslashes; `carry` says whether the
// block's first character is escaped, and is set for the next block.
std::uint64_t find_escaped(std::uint64_t backslash, std::uint64_t& carry) noexcept {
  constexpr std::uint64_t even_bits = 0x5555555555555555ULL;
  backslash &= ~carry;
  const std::uint64_t follows_escape = backslash << 1 | carry;
  const std::uint64_t odd_sequence_starts = backslash & ~even_bits & ~follows_escape;
  std::uint64_t sequences_starting_on_even_bits;
  carry = __builtin_add_overflow(odd_sequence_starts, backslash, &sequences_starting_on_even_bits)
              ? 1
              : 0;
  const std::uint64_t invert_mask = sequences_starting_on_even_bits << 1;
  return (even_bits ^ invert_mask) & follows_escape;
}

// Whether the four bytes after `p` are hex digits and end before `end`.
bool hex4(const char* p, const char* end) noexcept {
  if (end - p <= 4)
    return false;
  for (int k = 1; k <= 4; ++k) {
    if (!is_hex(p[k]))
      return false;
  }
  return true;
}

// string_end past the first bytes: 64 bytes at a time.
[[gnu::noinline]] const char* string_end_blocks(const char* body, const char* end,
                                                bool& escaped) noexcept {
  std::uint64_t carry = 0;
  for (const char* p = body; p < end; p += 64) {
    const auto left = static_cast<std::size_t>(end - p);
    const std::uint64_t in = left < 64 ? (std::uint64_t{1} << left) - 1 : ~std::uint64_t{0};
    const block64 b{p};
    const std::uint64_t backslashes = b.eq('\\') & in;
    const std::uint64_t quotes = b.eq('"') & in;
    std::uint64_t escapes = (backslashes | carry) != 0 ? find_escaped(backslashes, carry) & in : 0;
    const std::uint64_t closing = quotes & ~escapes;
    // Only the escapes before the closing quote count.
    const std::uint64_t before = closing ? (closing & (0 - closing)) - 1 : ~std::uint64_t{0};
    escapes &= before;
    if ((backslashes & before) != 0)
      escaped = true;
    // Escaped quotes and backslashes (most escapes in JSON text) need no further look.
    const std::uint64_t others = escapes & ~(quotes | backslashes);
    if (others != 0) {
      if ((others & ~b.escape_chars()) != 0)
        return nullptr;
      for (std::uint64_t u = others & b.eq('u'); u != 0; u &= u - 1) {
        if (!hex4(p + __builtin_ctzll(u), end))
          return nullptr;
      }
    }
    if (closing != 0)
      return p + __builtin_ctzll(closing);
  }
  return nullptr;
}

// The closing quote of the JSON string whose body (just after the opening quote) starts at
// `body`, or null when an escape is bad or no unescaped quote comes before `end`. `escaped` says
// whether the body has escapes. Reads up to 63 bytes past `end`: every string checked here lies
// in a frame read in place, followed by simdjson's padding (SIMDJSON_PADDING bytes).
inline const char* string_end(const char* body, const char* end, bool& escaped) noexcept {
  static_assert(simdjson::SIMDJSON_PADDING >= 64);
  escaped = false;
#if defined(__SSE2__)
  // Most names and values are short and have no escapes: a quote in the first 16 bytes with no
  // backslash before it ends the string.
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(body));
  const auto quotes =
      static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('"'))));
  const auto backslashes =
      static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
  if (quotes != 0) {
    const unsigned before = (quotes & (0u - quotes)) - 1;
    const auto at = static_cast<std::ptrdiff_t>(__builtin_ctz(quotes));
    if ((backslashes & before) == 0 && at < end - body)
      return body + at;
  }
#endif
  return string_end_blocks(body, end, escaped);
}

bool valid_string(std::string_view tok) noexcept {
  if (tok.size() < 2 || tok.front() != '"')
    return false;
  bool escaped;
  return string_end(tok.data() + 1, tok.data() + tok.size(), escaped) ==
         tok.data() + tok.size() - 1;
}

bool valid_number(std::string_view tok) noexcept {
  std::size_t i = 0;
  std::size_t n = tok.size();
  auto digits = [&] {
    std::size_t start = i;
    while (i < n && is_digit(tok[i]))
      ++i;
    return i > start;
  };
  if (i < n && tok[i] == '-')
    ++i;
  if (i < n && tok[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < n && tok[i] == '.') {
    ++i;
    if (!digits())
      return false;
  }
  if (i < n && (tok[i] == 'e' || tok[i] == 'E')) {
    ++i;
    if (i < n && (tok[i] == '+' || tok[i] == '-'))
      ++i;
    if (!digits())
      return false;
  }
  return i == n;
}

bool valid_scalar(ondemand::json_type type, std::string_view tok) noexcept {
  switch (type) {
  case ondemand::json_type::string:
    return valid_string(tok);
  case ondemand::json_type::number:
    return valid_number(tok);
  case ondemand::json_type::boolean:
    return tok == "true" || tok == "false";
  case ondemand::json_type::null:
    return tok == "null";
  default:
    return false;
  }
}

// The raw name of a field (between its quotes), checked as a JSON string; `end` bounds the scan.
bool raw_field_name(ondemand::field& f, const char* end, std::string_view& raw,
                    bool& escaped) noexcept {
  const char* body = f.key().raw(); // just after the opening quote
  const char* quote = string_end(body, end, escaped);
  if (!quote)
    return false;
  raw = std::string_view(body, static_cast<std::size_t>(quote - body));
  return true;
}

// The name of a field, checked as a JSON string. A name with escapes is unescaped; if simdjson
// cannot unescape it, it is left empty (it cannot name a known field then).
bool field_name(ondemand::field& f, const char* end, std::string_view& name) noexcept {
  bool escaped = false;
  if (!raw_field_name(f, end, name, escaped))
    return false;
  if (escaped && f.unescaped_key().get(name))
    name = {};
  return true;
}

// Steps over a string value. Left for the parent's iteration to skip, a string followed by ':' is
// taken for a key (simdjson's skip steps over `"...":` pairs), so `{"a":"b":1}}` passed as JSON
// and would have been forwarded to a peer that cannot parse it.
bool step_over_string(ondemand::value& v) noexcept {
  ondemand::raw_json_string raw;
  return v.get_raw_json_string().get(raw) == simdjson::SUCCESS;
}

// Checks that `v` is valid JSON and steps over it (containers are walked, strings are stepped
// over, other scalars are left for the parent's iteration to skip).
outcome check_value(ondemand::value v, int depth, const char* end) noexcept {
  ondemand::json_type type;
  if (v.type().get(type))
    return outcome::bad_json;
  switch (type) {
  case ondemand::json_type::object: {
    if (depth >= max_nesting)
      return outcome::too_deep;
    ondemand::object obj;
    if (v.get_object().get(obj))
      return outcome::bad_json;
    for (auto field_result : obj) {
      ondemand::field f;
      if (std::move(field_result).get(f))
        return outcome::bad_json;
      // Names here are never compared, so only their syntax matters.
      std::string_view raw;
      bool escaped = false;
      if (!raw_field_name(f, end, raw, escaped))
        return outcome::bad_json;
      auto r = check_value(f.value(), depth + 1, end);
      if (r != outcome::ok)
        return r;
    }
    return outcome::ok;
  }
  case ondemand::json_type::array: {
    if (depth >= max_nesting)
      return outcome::too_deep;
    ondemand::array arr;
    if (v.get_array().get(arr))
      return outcome::bad_json;
    for (auto element_result : arr) {
      ondemand::value element;
      if (std::move(element_result).get(element))
        return outcome::bad_json;
      auto r = check_value(element, depth + 1, end);
      if (r != outcome::ok)
        return r;
    }
    return outcome::ok;
  }
  default:
    if (!valid_scalar(type, scalar_token(v)))
      return outcome::bad_json;
    return type != ondemand::json_type::string || step_over_string(v) ? outcome::ok
                                                                      : outcome::bad_json;
  }
}

/// Reads one packet; the parser is owned by the caller.
class reader {
public:
  reader(read_result& result, const char* end, read_scope scope)
      : result_(result), end_(end), whole_(scope == read_scope::whole) {}

  /// Reads the fields of the root object; returns false when the JSON is broken.
  bool read_object(ondemand::object& obj) {
    for (auto field_result : obj) {
      ondemand::field f;
      if (std::move(field_result).get(f))
        return fail_json(outcome::bad_json);
      std::string_view name;
      if (!field_name(f, end_, name))
        return fail_json(outcome::bad_json);
      auto r = read_field(name, f.value());
      if (r == outcome::bad_json || r == outcome::too_deep)
        return fail_json(r);
    }
    return true;
  }

  /// Records a broken-JSON error: it replaces any type error, since the frame is not JSON.
  bool fail_json(outcome r) {
    result_.error = r == outcome::too_deep ? too_deep : invalid_json;
    return false;
  }

  /// `r`, recording `error` (unless an earlier one was recorded) when the value had the wrong type.
  outcome noted(outcome r, const char* error) {
    if (r == outcome::wrong_type)
      note(error);
    return r;
  }

  /// Records a type error unless an earlier one was recorded.
  void note(std::string text) {
    if (result_.error.empty())
      result_.error = std::move(text);
  }

private:
  /// The fields read_field knows.
  enum class field_id {
    other,
    packet_type,
    cookie,
    capacity,
    pipeline,
    token,
    timeout,
    rc,
    variables,
    error,
    result,
    detach,
    stacktrace,
    progress,
    priority,
    pipelines,
    retries,
    attempts,
  };

  static field_id identify(std::string_view name) noexcept {
    switch (name.size()) {
    case 2:
      return name == "rc" ? field_id::rc : field_id::other;
    case 5:
      return name == "token"   ? field_id::token
             : name == "error" ? field_id::error
                               : field_id::other;
    case 6:
      return name == "cookie"   ? field_id::cookie
             : name == "detach" ? field_id::detach
             : name == "result" ? field_id::result
                                : field_id::other;
    case 7:
      return name == "timeout"   ? field_id::timeout
             : name == "retries" ? field_id::retries
                                 : field_id::other;
    case 8:
      return name == "capacity"   ? field_id::capacity
             : name == "pipeline" ? field_id::pipeline
             : name == "progress" ? field_id::progress
             : name == "priority" ? field_id::priority
             : name == "attempts" ? field_id::attempts
                                  : field_id::other;
    case 9:
      return name == "variables"   ? field_id::variables
             : name == "pipelines" ? field_id::pipelines
                                   : field_id::other;
    case 10:
      return name == "stacktrace" ? field_id::stacktrace : field_id::other;
    case 11:
      return name == "packet_type" ? field_id::packet_type : field_id::other;
    default:
      return field_id::other;
    }
  }

  outcome read_field(std::string_view name, ondemand::value& v) {
    auto& fields = result_.fields;
    std::optional<std::string_view> text;
    outcome r = outcome::ok;
    const field_id id = identify(name);
    switch (id) {
    case field_id::packet_type:
      r = read_string(v, text);
      if (r == outcome::ok) {
        fields.type.reset();
        if (text) {
          fields.type = parse_packet_type(*text);
          if (!fields.type)
            note("unknown packet_type " + quote(*text));
        }
      }
      break;
    case field_id::cookie:
      r = read_string(v, text);
      if (r == outcome::ok) {
        if (!text) {
          fields.cookie.reset();
        } else if (auto c = cookie::parse(*text)) {
          fields.cookie = c;
        } else {
          note("cookie is not a UUID");
        }
      }
      break;
    case field_id::capacity:
      return noted(read_number(v, fields.capacity), "field 'capacity' must be an integer");
    case field_id::timeout:
      return noted(read_number(v, fields.timeout), "field 'timeout' must be a number of seconds");
    case field_id::rc:
      r = read_string(v, text);
      if (r == outcome::ok) {
        fields.rc = text ? parse_result_code(*text) : std::nullopt;
        if (text && !fields.rc)
          note("unknown rc " + quote(*text));
      }
      break;
    case field_id::variables:
    case field_id::error:
    case field_id::result:
      if (!whole_) {
        r = check_opaque_string(v);
        break;
      }
      [[fallthrough]];
    case field_id::pipeline:
    case field_id::token: {
      auto& target = string_field(id);
      r = read_string(v, text);
      if (r == outcome::ok) {
        if (text)
          target.emplace(*text);
        else
          target.reset();
      }
      break;
    }
    case field_id::detach:
      return noted(read_bool(v, fields.detach), "field 'detach' must be a boolean");
    case field_id::progress:
      return noted(read_bool(v, fields.progress), "field 'progress' must be a boolean");
    case field_id::priority:
      return noted(read_number(v, fields.priority), "field 'priority' must be an integer");
    case field_id::retries:
      return noted(read_number(v, fields.retries), "field 'retries' must be an integer");
    case field_id::attempts: {
      // The node appends it to RESULTs it forwards, and reads them for routing without it; so
      // that both readings refuse the same packets, one of another type is merely not read.
      if (!whole_)
        return check_value(v, 1, end_);
      auto r = read_number(v, fields.attempts);
      if (r != outcome::wrong_type)
        return r;
      fields.attempts.reset();
      return outcome::ok;
    }
    case field_id::pipelines:
      // Only a REGISTER carries it: rare enough to copy even when reading for routing.
      return noted(read_string_array(v, &fields.pipelines),
                   "field 'pipelines' must be an array of strings");
    case field_id::stacktrace:
      return noted(read_string_array(v, whole_ ? &fields.stacktrace : nullptr),
                   "field 'stacktrace' must be an array of strings");
    case field_id::other:
      return check_value(v, 1, end_);
    }
    // The rest are string fields.
    if (r == outcome::wrong_type)
      note("field '" + std::string{name} + "' must be a string");
    if (r == outcome::bad_string)
      note("field '" + std::string{name} + "' is not a valid string");
    return r;
  }

  // The string field `id` names.
  std::optional<std::string>& string_field(field_id id) noexcept {
    auto& f = result_.fields;
    switch (id) {
    case field_id::pipeline:
      return f.pipeline;
    case field_id::token:
      return f.token;
    case field_id::variables:
      return f.variables;
    case field_id::error:
      return f.error;
    default:
      return f.result;
    }
  }

  // Quotes a value for an error text, cut short (at a character boundary) when long.
  static std::string quote(std::string_view text) {
    std::string out = "'";
    if (text.size() <= max_quoted) {
      out += text;
    } else {
      std::size_t n = max_quoted;
      while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
        --n;
      out += text.substr(0, n);
      out += "...";
    }
    out += '\'';
    return out;
  }

  // The type of `v`, or nullopt when it is not a JSON value.
  static std::optional<ondemand::json_type> type_of(ondemand::value& v) noexcept {
    ondemand::json_type type;
    if (v.type().get(type))
      return std::nullopt;
    return type;
  }

  // A value of the wrong type must still be valid JSON.
  outcome wrong_type(ondemand::value& v) const noexcept {
    auto r = check_value(v, 1, end_);
    return r == outcome::ok ? outcome::wrong_type : r;
  }

  static outcome read_null(ondemand::value& v) noexcept {
    return valid_scalar(ondemand::json_type::null, scalar_token(v)) ? outcome::ok
                                                                    : outcome::bad_json;
  }

  outcome read_string(ondemand::value& v, std::optional<std::string_view>& out) const noexcept {
    out.reset();
    auto type = type_of(v);
    if (!type)
      return outcome::bad_json;
    if (*type == ondemand::json_type::null)
      return read_null(v);
    if (*type != ondemand::json_type::string)
      return wrong_type(v);
    // Without escapes the text is the raw token's body: only a string with escapes is unescaped.
    auto tok = scalar_token(v);
    bool escaped = false;
    if (tok.size() < 2 || tok.front() != '"' ||
        string_end(tok.data() + 1, tok.data() + tok.size(), escaped) != &tok.back())
      return outcome::bad_json;
    std::string_view s = tok.substr(1, tok.size() - 2);
    if (escaped ? v.get_string().get(s) != simdjson::SUCCESS : !step_over_string(v))
      return outcome::bad_string;
    out = s;
    return outcome::ok;
  }

  outcome check_opaque_string(ondemand::value& v) const noexcept {
    auto type = type_of(v);
    if (!type)
      return outcome::bad_json;
    if (*type == ondemand::json_type::null || *type == ondemand::json_type::string)
      return check_value(v, 1, end_);
    return wrong_type(v);
  }

  /// Reads a JSON number as an int64 (a fraction, an exponent or out of range is the wrong type)
  /// or as a double (out of a double's range is).
  template <class T>
  outcome read_number(ondemand::value& v, std::optional<T>& out) const noexcept {
    auto type = type_of(v);
    if (!type)
      return outcome::bad_json;
    if (*type == ondemand::json_type::null) {
      out.reset();
      return read_null(v);
    }
    if (*type != ondemand::json_type::number)
      return wrong_type(v);
    if (!valid_number(scalar_token(v)))
      return outcome::bad_json;
    T n;
    bool failed;
    if constexpr (std::is_same_v<T, double>)
      failed = v.get_double().get(n) != simdjson::SUCCESS;
    else
      failed = v.get_int64().get(n) != simdjson::SUCCESS;
    if (failed)
      return outcome::wrong_type;
    out = n;
    return outcome::ok;
  }

  outcome read_bool(ondemand::value& v, bool& out) const noexcept {
    auto type = type_of(v);
    if (!type)
      return outcome::bad_json;
    if (*type == ondemand::json_type::null) {
      out = false;
      return read_null(v);
    }
    if (*type != ondemand::json_type::boolean)
      return wrong_type(v);
    auto tok = scalar_token(v);
    if (!valid_scalar(*type, tok))
      return outcome::bad_json;
    out = tok == "true";
    return outcome::ok;
  }

  /// Checks an array of strings (or null); copies its strings into `out` unless `out` is null.
  outcome read_string_array(ondemand::value& v,
                            std::optional<std::vector<std::string>>* out) const {
    if (out)
      out->reset();
    auto type = type_of(v);
    if (!type)
      return outcome::bad_json;
    if (*type == ondemand::json_type::null)
      return read_null(v);
    if (*type != ondemand::json_type::array)
      return wrong_type(v);
    ondemand::array arr;
    if (v.get_array().get(arr))
      return outcome::bad_json;
    std::vector<std::string> lines;
    outcome result = outcome::ok;
    for (auto element_result : arr) {
      ondemand::value element;
      if (std::move(element_result).get(element))
        return outcome::bad_json;
      auto element_type = type_of(element);
      if (!element_type)
        return outcome::bad_json;
      if (out && *element_type == ondemand::json_type::string) {
        std::optional<std::string_view> text;
        auto r = read_string(element, text);
        if (r == outcome::bad_json)
          return r;
        if (r != outcome::ok)
          result = r;
        else
          lines.emplace_back(*text);
        continue;
      }
      auto r = check_value(element, 2, end_);
      if (r != outcome::ok)
        return r;
      if (*element_type != ondemand::json_type::string)
        result = outcome::wrong_type;
    }
    if (out && result == outcome::ok)
      *out = std::move(lines);
    return result;
  }

  read_result& result_;
  const char* end_;
  bool whole_; // copy the payload fields too (read_scope::whole)
};

std::string_view parse_error_text(simdjson::error_code error) noexcept {
  switch (error) {
  case simdjson::UTF8_ERROR:
    return "invalid UTF-8";
  case simdjson::CAPACITY:
    return "frame too large to parse";
  case simdjson::MEMALLOC:
    return "out of memory while parsing";
  default:
    return invalid_json;
  }
}

// Reads one packet into `result` (fresh); `json` is read in place, and so is every string the
// reader checks: string_end reads into the padding behind the payload.
void read_padded(ondemand::parser& parser, simdjson::padded_string_view json, read_scope scope,
                 read_result& result) {
  ondemand::document doc;
  if (auto error = parser.iterate(json).get(doc)) {
    result.error = parse_error_text(error);
    return;
  }
  ondemand::json_type type;
  if (doc.type().get(type)) {
    result.error = invalid_json;
    return;
  }
  if (type != ondemand::json_type::object) {
    result.error = "packet is not a JSON object";
    return;
  }
  ondemand::object obj;
  if (doc.get_object().get(obj)) {
    result.error = invalid_json;
    return;
  }
  reader r{result, json.data() + json.length(), scope};
  if (!r.read_object(obj))
    return;
  // At the end of the document current_location() fails; anything left is a second value.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS)
    r.fail_json(outcome::bad_json);
}

} // namespace

read_result read_payload(std::string_view payload, std::size_t padded_size, read_scope scope) {
  read_result result;
  if (payload.empty()) {
    result.error = "empty frame";
    return result;
  }
  thread_local ondemand::parser parser;
  if (padded_size >= payload.size() + simdjson::SIMDJSON_PADDING) {
    read_padded(parser, simdjson::padded_string_view(payload.data(), payload.size(), padded_size),
                scope, result);
    if (!result.ok()) {
      // In a broken frame, whether simdjson still finds the cookie can depend on the byte after
      // the payload (its padding: in a read block, whatever lies there). Read it again with
      // padding of our own, so that a bad packet gets the same answer whatever follows it.
      simdjson::padded_string copy(payload);
      result = read_result{};
      read_padded(parser, copy, scope, result);
    }
  } else {
    // Only a payload without its padding gets here; copy rather than read past its end.
    simdjson::padded_string copy(payload);
    read_padded(parser, copy, scope, result);
  }
  if (payload.size() > parser_retain_limit)
    parser = ondemand::parser{};
  return result;
}

read_result read_packet(const frame& f, read_scope scope) {
  return read_payload(f.payload(), f.padded_size(), scope);
}

packet_peek peek_packet(const frame& f) {
  packet_peek peek;
  auto payload = f.payload();
  if (payload.empty())
    return peek;
  thread_local ondemand::parser parser;
  std::optional<simdjson::padded_string> copy;
  simdjson::padded_string_view json;
  if (f.padded_size() >= payload.size() + simdjson::SIMDJSON_PADDING) {
    json = simdjson::padded_string_view(payload.data(), payload.size(), f.padded_size());
  } else {
    copy.emplace(payload);
    json = *copy;
  }
  ondemand::document doc;
  ondemand::object obj;
  if (parser.iterate(json).get(doc) || doc.get_object().get(obj))
    return peek;
  std::string_view text;
  if (!obj.find_field_unordered("packet_type").get_string().get(text))
    peek.type = parse_packet_type(text);
  if (!obj.find_field_unordered("cookie").get_string().get(text))
    peek.cookie = cookie::parse(text);
  bool detach = false;
  if (!obj.find_field_unordered("detach").get_bool().get(detach))
    peek.detach = detach;
  if (payload.size() > parser_retain_limit)
    parser = ondemand::parser{};
  return peek;
}

std::string check_result_packet(const packet_fields& fields) {
  if (fields.type != packet_type::result)
    return "not a RESULT packet";
  if (!fields.rc)
    return "RESULT without rc";
  return {};
}

std::string check_worker_packet(const packet_fields& fields) {
  if (!fields.type)
    return "missing packet_type";
  if ((fields.type == packet_type::run || fields.type == packet_type::cancel) && !fields.cookie)
    return "missing cookie";
  if (fields.type == packet_type::run && (!fields.pipeline || fields.pipeline->empty()))
    return "missing pipeline";
  return {};
}

} // namespace rcbroker::protocol

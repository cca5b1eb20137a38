#include "wire.hpp"

#include "rcbroker/protocol/frame.hpp"

#include <cstring>

namespace rcbench {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void write_hex(char* out, std::uint64_t value, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = hex_digits[value & 0xf];
    value >>= 4;
  }
}

// Lower-case hex only: rcbench's own cookies come back as it wrote them.
bool read_hex(const char* in, int digits, std::uint64_t& value) noexcept {
  value = 0;
  for (int i = 0; i < digits; ++i) {
    char c = in[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else
      return false;
    value = (value << 4) | d;
  }
  return true;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The index of the closing quote of the string literal opening at `open`, or npos.
std::size_t string_end(std::string_view s, std::size_t open) noexcept {
  std::size_t from = open + 1;
  while (from < s.size()) {
    auto* q = static_cast<const char*>(std::memchr(s.data() + from, '"', s.size() - from));
    if (q == nullptr)
      return std::string_view::npos;
    auto at = static_cast<std::size_t>(q - s.data());
    std::size_t backslashes = 0;
    while (at - backslashes > open + 1 && s[at - backslashes - 1] == '\\')
      ++backslashes;
    if (backslashes % 2 == 0)
      return at;
    from = at + 1;
  }
  return std::string_view::npos;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

constexpr std::string_view result_head = R"({"packet_type":"RESULT","cookie":")";
constexpr std::string_view result_middle =
    R"(","capacity":null,"pipeline":null,"variables":null,"detach":null,"rc":"OK","error":null,)"
    R"("stacktrace":null,"result":)";

} // namespace

cookie_format::cookie_format(std::uint64_t random) {
  write_hex(run_, random >> 32, 8);
  write_hex(salt_, random & 0xfff, 3);
}

void cookie_format::write(char* out, std::uint16_t client, std::uint16_t slot,
                          std::uint64_t seq) const noexcept {
  std::memcpy(out, run_, 8);
  out[8] = '-';
  write_hex(out + 9, client, 4);
  out[13] = '-';
  out[14] = '4';
  write_hex(out + 15, slot & max_slot, 3);
  out[18] = '-';
  out[19] = 'a';
  std::memcpy(out + 20, salt_, 3);
  out[23] = '-';
  write_hex(out + 24, seq & 0xffffffffffffULL, 12);
}

std::optional<cookie_fields> cookie_format::read(std::string_view text) const noexcept {
  if (text.size() != size || std::memcmp(text.data(), run_, 8) != 0 || text[8] != '-' ||
      text[13] != '-' || text[14] != '4' || text[18] != '-' || text[19] != 'a' ||
      std::memcmp(text.data() + 20, salt_, 3) != 0 || text[23] != '-')
    return std::nullopt;
  std::uint64_t client = 0;
  std::uint64_t slot = 0;
  std::uint64_t seq = 0;
  if (!read_hex(text.data() + 9, 4, client) || !read_hex(text.data() + 15, 3, slot) ||
      !read_hex(text.data() + 24, 12, seq))
    return std::nullopt;
  return cookie_fields{static_cast<std::uint16_t>(client), static_cast<std::uint16_t>(slot), seq};
}

void append_length(std::string& out, std::size_t size) {
  auto prefix = rcbroker::protocol::encode_length(static_cast<std::uint32_t>(size));
  out.append(reinterpret_cast<const char*>(prefix.data()), prefix.size());
}

std::string make_variables(std::size_t size) {
  if (size < 8)
    size = 8;
  std::string v = R"({"p":")";
  v.append(size - 8, 'a');
  v += R"("})";
  return v;
}

run_frame::run_frame(std::string_view variables_json) {
  std::string payload = R"({"packet_type":"RUN","cookie":")";
  cookie_at_ = 4 + payload.size();
  payload.append(cookie_format::size, '0');
  payload += R"(","capacity":null,"pipeline":"bench","variables":)";
  append_json_string(payload, variables_json);
  payload += R"(,"detach":false,"rc":null,"error":null,"stacktrace":null,"result":null})";
  append_length(bytes_, payload.size());
  bytes_ += payload;
}

void run_frame::append(std::string& out, const cookie_format& fmt, std::uint16_t client,
                       std::uint16_t slot, std::uint64_t seq) const {
  auto at = out.size();
  out.append(bytes_);
  fmt.write(out.data() + at + cookie_at_, client, slot, seq);
}

void append_result(std::string& out, std::string_view cookie_text, std::string_view result_json) {
  append_length(out, result_head.size() + cookie_text.size() + result_middle.size() +
                         result_json.size() + 1);
  out.append(result_head);
  out.append(cookie_text);
  out.append(result_middle);
  out.append(result_json);
  out += '}';
}

std::string register_frame(unsigned capacity) {
  std::string payload = R"({"packet_type":"REGISTER","cookie":null,"capacity":)" +
                        std::to_string(capacity) +
                        R"(,"pipeline":null,"variables":null,"detach":null,"rc":null,)"
                        R"("error":null,"stacktrace":null,"result":null})";
  std::string out;
  append_length(out, payload.size());
  out += payload;
  return out;
}

std::optional<std::string_view> raw_field(std::string_view payload, std::string_view quoted_key,
                                          std::size_t from) {
  for (;;) {
    auto at = payload.find(quoted_key, from);
    if (at == std::string_view::npos)
      return std::nullopt;
    auto i = at + quoted_key.size();
    while (i < payload.size() && is_space(payload[i]))
      ++i;
    if (i >= payload.size() || payload[i] != ':') {
      // The key's text appeared as a value (e.g. "cookie" as a string): look further on.
      from = at + 1;
      continue;
    }
    ++i;
    while (i < payload.size() && is_space(payload[i]))
      ++i;
    if (i >= payload.size())
      return std::nullopt;
    if (payload[i] == '"') {
      auto end = string_end(payload, i);
      if (end == std::string_view::npos)
        return std::nullopt;
      return payload.substr(i, end - i + 1);
    }
    if (payload[i] == '{' || payload[i] == '[')
      return std::nullopt;
    auto end = i;
    while (end < payload.size() && payload[end] != ',' && payload[end] != '}' &&
           !is_space(payload[end]))
      ++end;
    return payload.substr(i, end - i);
  }
}

std::optional<std::string_view> field_reader::get(std::string_view quoted_key) {
  auto value = raw_field(payload_, quoted_key, next_);
  if (!value && next_ > 0)
    value = raw_field(payload_, quoted_key);
  if (value)
    next_ = static_cast<std::size_t>(value->data() - payload_.data()) + value->size();
  return value;
}

std::optional<std::string_view> string_contents(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"')
    return std::nullopt;
  return raw.substr(1, raw.size() - 2);
}

} // namespace rcbench

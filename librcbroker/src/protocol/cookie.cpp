#include "rcbroker/protocol/cookie.hpp"

namespace rcbroker::protocol {

namespace {

constexpr bool is_hyphen_position(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

// The value of one hex digit, or -1.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<cookie> cookie::parse(std::string_view text) noexcept {
  if (text.size() != cookie::text_size)
    return std::nullopt;
  cookie result;
  std::size_t nibble = 0;
  for (std::size_t i = 0; i < cookie::text_size; ++i) {
    if (is_hyphen_position(i)) {
      if (text[i] != '-')
        return std::nullopt;
      continue;
    }
    int v = hex_value(text[i]);
    if (v < 0)
      return std::nullopt;
    auto& byte = result.bytes[nibble / 2];
    byte = static_cast<std::uint8_t>(nibble % 2 == 0 ? v << 4 : byte | v);
    ++nibble;
  }
  return result;
}

std::string cookie::to_string() const {
  std::string out(text_size, '\0');
  write(out.data());
  return out;
}

void cookie::write(char* out) const noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      *out++ = '-';
    *out++ = hex[bytes[i] >> 4];
    *out++ = hex[bytes[i] & 0x0F];
  }
}

} // namespace rcbroker::protocol

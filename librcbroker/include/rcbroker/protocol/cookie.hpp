#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace rcbroker::protocol {

/// The UUID that names one task on the wire, held as its 16 bytes.
struct cookie {
  std::array<std::uint8_t, 16> bytes{};

  /// Parses the canonical 8-4-4-4-12 hex form; upper and lower case are accepted.
  static std::optional<cookie> parse(std::string_view text) noexcept;

  /// Length of the canonical form.
  static constexpr std::size_t text_size = 36;

  /// Returns the canonical lower-case 8-4-4-4-12 form.
  std::string to_string() const;

  /// Writes the canonical lower-case form's `text_size` characters to `out`.
  void write(char* out) const noexcept;

  friend bool operator==(const cookie& a, const cookie& b) noexcept { return a.bytes == b.bytes; }
  friend bool operator!=(const cookie& a, const cookie& b) noexcept { return !(a == b); }
  friend bool operator<(const cookie& a, const cookie& b) noexcept { return a.bytes < b.bytes; }
};

/// Hashes a cookie; UUIDs are random, so two words of it are a good hash.
struct cookie_hash {
  std::size_t operator()(const cookie& c) const noexcept {
    std::uint64_t a;
    std::uint64_t b;
    std::memcpy(&a, c.bytes.data(), 8);
    std::memcpy(&b, c.bytes.data() + 8, 8);
    return static_cast<std::size_t>(a ^ (b * 0x9e3779b97f4a7c15ULL));
  }
};

} // namespace rcbroker::protocol

template <>
struct std::hash<rcbroker::protocol::cookie> : rcbroker::protocol::cookie_hash {};

#pragma once

// The few packets rcbench writes, in the exact form an original ReasonChip peer writes them
// (every field, nulls included), and a scanner that reads single fields of a packet in place.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rcbench {

/// Where one RUN came from, as encoded in its cookie.
struct cookie_fields {
  std::uint16_t client = 0; ///< index of the client connection
  std::uint16_t slot = 0;   ///< in-flight slot of that client
  std::uint64_t seq = 0;    ///< per-client sequence number (48 bits)
};

/// Cookies of one rcbench run: `RRRRRRRR-CCCC-4SSS-aXXX-NNNNNNNNNNNN` (random run id R and X,
/// client C, slot S, sequence N), a canonical lower-case UUID that a client decodes without a
/// lookup table.
class cookie_format {
public:
  /// Length of a cookie's text.
  static constexpr std::size_t size = 36;

  /// Largest slot index a cookie can carry.
  static constexpr std::uint16_t max_slot = 0xfff;

  explicit cookie_format(std::uint64_t random);

  /// Writes the 36 characters of a cookie to `out`.
  void write(char* out, std::uint16_t client, std::uint16_t slot, std::uint64_t seq) const noexcept;

  /// Decodes a cookie of this run; nullopt for any other text.
  std::optional<cookie_fields> read(std::string_view text) const noexcept;

private:
  char run_[8];
  char salt_[3];
};

/// Appends the 4-byte big-endian length prefix of a `size`-byte payload to `out`.
void append_length(std::string& out, std::size_t size);

/// A variables JSON text of exactly `size` bytes (at least 8): `{"p":"aaa…"}`.
std::string make_variables(std::size_t size);

/// A whole RUN frame (prefix included) for pipeline "bench", prepared once; each RUN copies it and
/// writes its cookie in place.
class run_frame {
public:
  explicit run_frame(std::string_view variables_json);

  /// Appends one RUN with the given cookie fields to `out`.
  void append(std::string& out, const cookie_format& fmt, std::uint16_t client, std::uint16_t slot,
              std::uint64_t seq) const;

private:
  std::string bytes_;
  std::size_t cookie_at_ = 0;
};

/// Appends a worker's RESULT (rc OK) to `out`: `cookie_text` is the cookie's string contents as
/// they came, `result_json` the raw JSON value of the `result` field (a string literal or null).
void append_result(std::string& out, std::string_view cookie_text, std::string_view result_json);

/// The REGISTER an original worker of capacity `capacity` writes, as a whole frame.
std::string register_frame(unsigned capacity);

/// The raw JSON text of the value of top-level field `quoted_key` (e.g. `"\"cookie\""`) in the
/// packet `payload`, searched from byte `from` on: a string literal with its quotes, `null`, a
/// number or `true`/`false`. nullopt when the field is absent or its value is an object or array.
/// Meant for the flat packets of the protocol: a quote inside a string is escaped, so the key
/// matches inside a value only as a whole string value, which is skipped.
std::optional<std::string_view> raw_field(std::string_view payload, std::string_view quoted_key,
                                          std::size_t from = 0);

/// Reads fields of one packet in the order asked for: each search starts where the previous
/// field's value ended (peers write the fields in a fixed order, so the packet is scanned about
/// once) and falls back to the whole packet.
class field_reader {
public:
  explicit field_reader(std::string_view payload) : payload_(payload) {}

  /// The raw value of `quoted_key`, as raw_field().
  std::optional<std::string_view> get(std::string_view quoted_key);

private:
  std::string_view payload_;
  std::size_t next_ = 0;
};

/// The contents of a JSON string literal without its quotes; nullopt when `raw` is not one.
std::optional<std::string_view> string_contents(std::string_view raw);

} // namespace rcbench

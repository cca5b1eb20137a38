#pragma once

// What rcbench adds to the library's codec: cookies that say which client and slot a RUN came
// from, and frames written once by the library's writer and stamped with a cookie per copy.

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"

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

  /// Decodes a cookie of this run; nullopt for any other cookie.
  std::optional<cookie_fields> read(const rcbroker::protocol::cookie& c) const noexcept;

private:
  std::uint32_t run_;  // R
  std::uint16_t salt_; // X, 12 bits
};

/// Appends `f` to `out` as it goes on the wire: its 4-byte length prefix, then its payload.
void append_frame(std::string& out, const rcbroker::protocol::frame& f);

/// A variables JSON text of exactly `size` bytes (at least 8): `{"p":"aaa…"}`.
std::string make_variables(std::size_t size);

/// A whole frame (prefix included) written once around the all-zero cookie; each copy gets a
/// cookie of its own, written in place.
class frame_template {
public:
  /// Takes `f`, whose cookie must be the all-zero one (and the only such text in it).
  explicit frame_template(const rcbroker::protocol::frame& f);

  /// Appends a copy to `out` and returns where its cookie's 36 characters are, to be
  /// overwritten before `out` changes again.
  char* append(std::string& out) const;

private:
  std::string bytes_;
  std::size_t cookie_at_ = 0;
};

/// The RUN every rcbench client sends: pipeline "bench", the given variables, detached or not.
frame_template run_template(std::string_view variables_json, bool detach = false);

/// The RESULT every rcbench worker answers: rc OK, the given variables as the result (so a RESULT
/// is as large as its RUN).
frame_template result_template(std::string_view variables_json);

} // namespace rcbench

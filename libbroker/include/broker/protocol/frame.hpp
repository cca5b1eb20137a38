#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace broker::protocol {

/// Bytes of spare capacity every frame keeps after its payload, so that simdjson can read it in
/// place (equal to SIMDJSON_PADDING, checked in frame.cpp).
inline constexpr std::size_t frame_padding = 64;

/// Default for `max-frame-size`: the largest payload the broker accepts (16 MiB).
inline constexpr std::size_t default_max_frame_size = 16u * 1024u * 1024u;

/// One packet's JSON payload (without its length prefix): immutable and shared, so forwarding a
/// frame to another connection copies a pointer, never the bytes.
class frame {
public:
  frame() = default;

  /// Copies `payload` into a new padded buffer.
  explicit frame(std::string_view payload);

  /// Takes `payload` without copying it, growing its capacity to the padding if needed.
  static frame adopt(std::string&& payload);

  /// The JSON text of the packet.
  std::string_view payload() const noexcept {
    return data_ ? std::string_view{*data_} : std::string_view{};
  }

  /// The payload's size plus the readable padding behind it (for simdjson).
  std::size_t padded_size() const noexcept { return data_ ? data_->capacity() : 0; }

  /// Whether this frame holds a buffer at all (a default-constructed frame does not).
  bool valid() const noexcept { return data_ != nullptr; }

  friend bool operator==(const frame& a, const frame& b) noexcept {
    return a.payload() == b.payload();
  }

private:
  std::shared_ptr<const std::string> data_;
};

/// The 4-byte big-endian length prefix of a payload of `size` bytes.
std::array<unsigned char, 4> encode_length(std::uint32_t size) noexcept;

/// Prefix plus payload, as written on the wire (for tests and simple clients).
std::string encode_frame(std::string_view payload);

/// Splits a byte stream into frames: feed it whatever a read returned, collect whole frames.
class frame_decoder {
public:
  /// Outcome of `feed`.
  enum class status {
    ok,       ///< all bytes consumed; any partial frame waits for more
    too_large ///< a length prefix exceeded the limit; the stream cannot be resynchronised
  };

  explicit frame_decoder(std::size_t max_frame_size = default_max_frame_size);

  /// Consumes `size` bytes, appending each completed frame to `out` (a zero-length frame is
  /// delivered as an empty payload: the caller decides it is a bad packet). After `too_large`
  /// the decoder stays failed.
  status feed(const char* data, std::size_t size, std::vector<frame>& out);

  /// The length prefix that broke the limit (valid after `too_large`).
  std::uint64_t rejected_length() const noexcept { return rejected_; }

  /// Bytes held for a frame not yet complete.
  std::size_t buffered() const noexcept;

private:
  std::size_t max_;
  unsigned char header_[4] = {};
  std::size_t header_have_ = 0;
  std::string body_;          // payload of the frame being assembled (capacity padded)
  std::size_t body_need_ = 0; // payload bytes still missing
  bool in_body_ = false;
  bool failed_ = false;
  std::uint64_t rejected_ = 0;
};

} // namespace broker::protocol

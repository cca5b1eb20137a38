#pragma once

#include "rcbroker/protocol/byte_block.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::protocol {

/// Bytes of readable memory every frame keeps after its payload, so that simdjson can read it in
/// place (equal to SIMDJSON_PADDING, checked in frame.cpp).
inline constexpr std::size_t frame_padding = 64;

/// Default for `max-frame-size`: the largest payload the broker accepts (16 MiB).
inline constexpr std::size_t default_max_frame_size = 16u * 1024u * 1024u;

/// One packet's JSON payload (without its length prefix): an immutable slice of a shared
/// byte_block, so forwarding a frame to another connection copies a pointer, never the bytes.
class frame {
public:
  frame() = default;

  /// Copies `payload` into a new padded block.
  explicit frame(std::string_view payload);

  /// Points at `size` bytes at `data` inside `block`, which must have `frame_padding` readable
  /// bytes after them.
  frame(block_ref block, const char* data, std::size_t size) noexcept
      : block_(std::move(block)), data_(data), size_(static_cast<std::uint32_t>(size)) {}

  /// Takes `payload` (copied into a padded block: one allocation).
  static frame adopt(std::string&& payload) { return frame{std::string_view{payload}}; }

  /// The JSON text of the packet.
  std::string_view payload() const noexcept { return {data_, size_}; }

  /// The payload's size plus the readable bytes behind it in its block (for simdjson).
  std::size_t padded_size() const noexcept {
    return block_ ? static_cast<std::size_t>(block_.end() - data_) : 0;
  }

  /// The frame to keep for long (queued, or behind a slow write): a copy of its own when it is a
  /// slice of a socket read's block (which it would otherwise keep whole, 64 KiB for maybe a
  /// hundred bytes), else this frame.
  frame compacted() const {
    if (block_ && block_->capacity() == byte_block::pooled_capacity)
      return frame{payload()};
    return *this;
  }

  /// Whether this frame holds a buffer at all (a default-constructed frame does not).
  bool valid() const noexcept { return static_cast<bool>(block_); }

  friend bool operator==(const frame& a, const frame& b) noexcept {
    return a.payload() == b.payload();
  }

private:
  block_ref block_;
  const char* data_ = nullptr;
  std::uint32_t size_ = 0;
};

/// The 4-byte big-endian length prefix of a payload of `size` bytes.
std::array<unsigned char, 4> encode_length(std::uint32_t size) noexcept;

/// Prefix plus payload, as written on the wire (for tests and simple clients).
std::string encode_frame(std::string_view payload);

/// Splits a byte stream into frames: feed it whatever a read returned, collect whole frames.
/// Holds only the frame it is assembling across reads (nothing between frames).
class frame_decoder {
public:
  /// Outcome of `feed`.
  enum class status {
    ok,       ///< all bytes consumed; any partial frame waits for more
    too_large ///< a length prefix exceeded the limit; the stream cannot be resynchronised
  };

  explicit frame_decoder(std::size_t max_frame_size = default_max_frame_size);

  /// Consumes `size` bytes, appending each completed frame to `out` (a zero-length frame is
  /// delivered as an empty payload: the caller decides it is a bad packet). Frames are copied
  /// into blocks of their own. After `too_large` the decoder stays failed.
  status feed(const char* data, std::size_t size, std::vector<frame>& out);

  /// As above, for bytes that lie in `block` with at least `frame_padding` bytes of it after
  /// them: a frame that lies wholly in them is a slice of `block`, not a copy.
  status feed(const block_ref& block, const char* data, std::size_t size, std::vector<frame>& out);

  /// The length prefix that broke the limit (valid after `too_large`).
  std::uint64_t rejected_length() const noexcept { return rejected_; }

  /// Bytes held for a frame not yet complete.
  std::size_t buffered() const noexcept;

private:
  void grow_body(std::size_t at_least);

  std::size_t max_;
  unsigned char header_[4] = {};
  std::size_t header_have_ = 0;
  block_ref body_;            // the payload being assembled (capacity padded), if any
  std::size_t body_have_ = 0; // payload bytes in body_
  std::size_t body_need_ = 0; // payload bytes still missing
  bool in_body_ = false;
  bool failed_ = false;
  std::uint64_t rejected_ = 0;
};

} // namespace rcbroker::protocol

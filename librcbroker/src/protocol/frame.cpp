#include "rcbroker/protocol/frame.hpp"

#include <algorithm>
#include <cstring>
#include <simdjson.h>

namespace rcbroker::protocol {

static_assert(frame_padding == simdjson::SIMDJSON_PADDING, "frame padding must match simdjson's");

frame::frame(std::string_view payload) {
  auto block = block_ref::adopt(byte_block::allocate(payload.size() + frame_padding));
  if (!payload.empty())
    std::memcpy(block->data(), payload.data(), payload.size());
  std::memset(block->data() + payload.size(), 0, frame_padding); // reads never see stale bytes
  data_ = block->data();
  size_ = static_cast<std::uint32_t>(payload.size());
  block_ = std::move(block);
}

std::array<unsigned char, 4> encode_length(std::uint32_t size) noexcept {
  return {static_cast<unsigned char>(size >> 24), static_cast<unsigned char>(size >> 16),
          static_cast<unsigned char>(size >> 8), static_cast<unsigned char>(size)};
}

std::string encode_frame(std::string_view payload) {
  auto prefix = encode_length(static_cast<std::uint32_t>(payload.size()));
  std::string out(reinterpret_cast<const char*>(prefix.data()), prefix.size());
  out.append(payload.data(), payload.size());
  return out;
}

frame_decoder::frame_decoder(std::size_t max_frame_size) : max_(max_frame_size) {}

std::size_t frame_decoder::buffered() const noexcept {
  return header_have_ + body_have_;
}

void frame_decoder::grow_body(std::size_t at_least) {
  // Grows with what has arrived (doubling), never to what a prefix claims: a lying prefix
  // costs nothing up front.
  auto total = body_have_ + body_need_;
  auto want = std::min(total, std::max(at_least, body_have_ * 2));
  auto grown = block_ref::adopt(byte_block::allocate(want + frame_padding));
  if (body_have_ > 0)
    std::memcpy(grown->data(), body_->data(), body_have_);
  body_ = std::move(grown);
}

frame_decoder::status frame_decoder::feed(const char* data, std::size_t size,
                                          std::vector<frame>& out) {
  return feed(block_ref{}, data, size, out);
}

frame_decoder::status frame_decoder::feed(const block_ref& block, const char* data,
                                          std::size_t size, std::vector<frame>& out) {
  if (failed_)
    return status::too_large;
  while (size > 0) {
    if (!in_body_) {
      // The common case: a whole header in the input.
      std::uint64_t length = 0;
      if (header_have_ == 0 && size >= sizeof(header_)) {
        auto* h = reinterpret_cast<const unsigned char*>(data);
        length = (std::uint64_t{h[0]} << 24) | (std::uint64_t{h[1]} << 16) |
                 (std::uint64_t{h[2]} << 8) | std::uint64_t{h[3]};
        data += sizeof(header_);
        size -= sizeof(header_);
      } else {
        auto take = std::min(size, sizeof(header_) - header_have_);
        std::copy_n(data, take, header_ + header_have_);
        header_have_ += take;
        data += take;
        size -= take;
        if (header_have_ < sizeof(header_))
          break;
        header_have_ = 0;
        length = (std::uint64_t{header_[0]} << 24) | (std::uint64_t{header_[1]} << 16) |
                 (std::uint64_t{header_[2]} << 8) | std::uint64_t{header_[3]};
      }
      if (length > max_) {
        failed_ = true;
        rejected_ = length;
        return status::too_large;
      }
      if (length == 0) {
        out.emplace_back(std::string_view{});
        continue;
      }
      if (block && length <= size) {
        // Whole in the caller's block: a slice, no copy.
        out.emplace_back(block, data, length);
        data += length;
        size -= length;
        continue;
      }
      body_need_ = length;
      body_have_ = 0;
      in_body_ = true;
      grow_body(std::min<std::uint64_t>(length, size));
    }
    auto take = std::min(size, body_need_);
    if (body_have_ + take + frame_padding > body_->capacity())
      grow_body(body_have_ + take);
    std::memcpy(body_->data() + body_have_, data, take);
    body_have_ += take;
    data += take;
    size -= take;
    body_need_ -= take;
    if (body_need_ == 0) {
      in_body_ = false;
      auto* start = body_->data();
      out.emplace_back(std::move(body_), start, body_have_);
      body_ = block_ref{};
      body_have_ = 0;
    }
  }
  return status::ok;
}

} // namespace rcbroker::protocol

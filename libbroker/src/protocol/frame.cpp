#include "broker/protocol/frame.hpp"

#include <simdjson.h>

#include <algorithm>

namespace broker::protocol {

static_assert(frame_padding == simdjson::SIMDJSON_PADDING, "frame padding must match simdjson's");

namespace {

std::string padded_copy(std::string_view payload) {
  std::string s;
  s.reserve(payload.size() + frame_padding);
  s.assign(payload.data(), payload.size());
  return s;
}

} // namespace

frame::frame(std::string_view payload)
  : data_(std::make_shared<const std::string>(padded_copy(payload))) {
}

frame frame::adopt(std::string&& payload) {
  if (payload.capacity() < payload.size() + frame_padding)
    payload.reserve(payload.size() + frame_padding);
  frame f;
  f.data_ = std::make_shared<const std::string>(std::move(payload));
  return f;
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

frame_decoder::frame_decoder(std::size_t max_frame_size) : max_(max_frame_size) {
}

std::size_t frame_decoder::buffered() const noexcept {
  return header_have_ + body_.size();
}

frame_decoder::status frame_decoder::feed(const char* data, std::size_t size,
                                          std::vector<frame>& out) {
  if (failed_)
    return status::too_large;
  while (size > 0) {
    if (!in_body_) {
      auto take = std::min(size, sizeof(header_) - header_have_);
      std::copy_n(data, take, header_ + header_have_);
      header_have_ += take;
      data += take;
      size -= take;
      if (header_have_ < sizeof(header_))
        break;
      header_have_ = 0;
      std::uint64_t length = (std::uint64_t{header_[0]} << 24) | (std::uint64_t{header_[1]} << 16)
                             | (std::uint64_t{header_[2]} << 8) | std::uint64_t{header_[3]};
      if (length > max_) {
        failed_ = true;
        rejected_ = length;
        return status::too_large;
      }
      if (length == 0) {
        out.emplace_back(std::string_view{});
        continue;
      }
      // Reserve only what has arrived (plus padding) so a lying prefix costs nothing up front.
      body_.clear();
      body_.reserve(std::min<std::uint64_t>(length, size) + frame_padding);
      body_need_ = length;
      in_body_ = true;
    }
    auto take = std::min(size, body_need_);
    if (body_.capacity() < body_.size() + take + frame_padding)
      body_.reserve(std::max(body_.size() + take, std::min(body_.size() * 2, body_.size()
                                                                                 + body_need_))
                    + frame_padding);
    body_.append(data, take);
    data += take;
    size -= take;
    body_need_ -= take;
    if (body_need_ == 0) {
      in_body_ = false;
      out.push_back(frame::adopt(std::move(body_)));
      body_ = std::string{};
    }
  }
  return status::ok;
}

} // namespace broker::protocol

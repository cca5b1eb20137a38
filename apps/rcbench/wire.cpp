#include "wire.hpp"

#include "rcbroker/protocol/packet_writer.hpp"

#include <cstring>
#include <stdexcept>

namespace rcbench {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void write_hex(char* out, std::uint64_t value, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = hex_digits[value & 0xf];
    value >>= 4;
  }
}

// The big-endian number in `n` bytes of `c` from `at` on.
std::uint64_t bytes_at(const rcbroker::protocol::cookie& c, std::size_t at,
                       std::size_t n) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < n; ++i)
    value = (value << 8) | c.bytes[at + i];
  return value;
}

} // namespace

cookie_format::cookie_format(std::uint64_t random)
    : run_(static_cast<std::uint32_t>(random >> 32)),
      salt_(static_cast<std::uint16_t>(random & 0xfff)) {}

void cookie_format::write(char* out, std::uint16_t client, std::uint16_t slot,
                          std::uint64_t seq) const noexcept {
  write_hex(out, run_, 8);
  out[8] = '-';
  write_hex(out + 9, client, 4);
  out[13] = '-';
  out[14] = '4';
  write_hex(out + 15, slot & max_slot, 3);
  out[18] = '-';
  out[19] = 'a';
  write_hex(out + 20, salt_, 3);
  out[23] = '-';
  write_hex(out + 24, seq & 0xffffffffffffULL, 12);
}

std::optional<cookie_fields>
cookie_format::read(const rcbroker::protocol::cookie& c) const noexcept {
  // Bytes: RRRR CCCC 4S SS aX XX NNNNNNNNNNNN.
  if (bytes_at(c, 0, 4) != run_ || (c.bytes[6] >> 4) != 0x4 || (c.bytes[8] >> 4) != 0xa ||
      (bytes_at(c, 8, 2) & 0xfff) != salt_)
    return std::nullopt;
  return cookie_fields{static_cast<std::uint16_t>(bytes_at(c, 4, 2)),
                       static_cast<std::uint16_t>(bytes_at(c, 6, 2) & 0xfff), bytes_at(c, 10, 6)};
}

void append_frame(std::string& out, const rcbroker::protocol::frame& f) {
  auto payload = f.payload();
  auto prefix = rcbroker::protocol::encode_length(static_cast<std::uint32_t>(payload.size()));
  out.append(reinterpret_cast<const char*>(prefix.data()), prefix.size());
  out.append(payload);
}

std::string make_variables(std::size_t size) {
  if (size < 8)
    size = 8;
  std::string v = R"({"p":")";
  v.append(size - 8, 'a');
  v += R"("})";
  return v;
}

frame_template::frame_template(const rcbroker::protocol::frame& f) {
  append_frame(bytes_, f);
  cookie_at_ = bytes_.find(rcbroker::protocol::cookie{}.to_string());
  if (cookie_at_ == std::string::npos)
    throw std::logic_error("rcbench: a frame template without a cookie to stamp");
}

char* frame_template::append(std::string& out) const {
  auto at = out.size();
  out.append(bytes_);
  return out.data() + at + cookie_at_;
}

frame_template run_template(std::string_view variables_json, bool detach) {
  return frame_template{
      rcbroker::protocol::make_run(rcbroker::protocol::cookie{}, "bench", variables_json, detach)};
}

frame_template result_template(std::string_view variables_json) {
  return frame_template{rcbroker::protocol::make_result(rcbroker::protocol::cookie{},
                                                        rcbroker::protocol::result_code::ok,
                                                        std::string{variables_json})};
}

} // namespace rcbench

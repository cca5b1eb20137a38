// libFuzzer target: protocol::frame_decoder fed arbitrary bytes in arbitrary chunks, checked
// against a reference decoder that sees the whole stream at once.
//
// Input: byte 0 picks the frame limit (below 128: 0..63 bytes, so limits are hit; else the
// default 16 MiB, so lying length prefixes are buffered), byte 1 seeds the chunk sizes, the rest
// is the byte stream.

#include "rcbroker/protocol/frame.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using rcbroker::protocol::default_max_frame_size;
using rcbroker::protocol::encode_frame;
using rcbroker::protocol::frame;
using rcbroker::protocol::frame_decoder;
using rcbroker::protocol::frame_padding;

void check(bool ok, const char* what) {
  if (ok)
    return;
  std::fprintf(stderr, "frame_decoder_fuzzer: %s\n", what);
  std::abort();
}

/// What the stream holds, read in one go: whole frames up to the first one not complete or over
/// the limit.
struct reference {
  std::vector<std::string_view> payloads;
  std::vector<std::size_t> ends; ///< stream offset just after each frame
  bool too_large = false;
  std::uint64_t rejected = 0;
};

reference decode_whole(std::string_view s, std::size_t max) {
  reference r;
  std::size_t pos = 0;
  while (s.size() - pos >= 4) {
    auto* h = reinterpret_cast<const unsigned char*>(s.data() + pos);
    std::uint64_t length = (std::uint64_t{h[0]} << 24) | (std::uint64_t{h[1]} << 16) |
                           (std::uint64_t{h[2]} << 8) | std::uint64_t{h[3]};
    if (length > max) {
      r.too_large = true;
      r.rejected = length;
      break;
    }
    if (s.size() - pos - 4 < length)
      break;
    r.payloads.push_back(s.substr(pos + 4, length));
    pos += 4 + length;
    r.ends.push_back(pos);
  }
  return r;
}

/// Chunk sizes from a seed: mostly small (splitting prefixes), sometimes empty, sometimes large.
class chunker {
public:
  explicit chunker(std::uint8_t seed) : state_(0x9e3779b9u ^ (seed * 0x01000193u)) {}

  std::size_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    switch (state_ % 8) {
    case 0:
      return 0;
    case 1:
      return 64 + state_ % 512;
    default:
      return 1 + (state_ >> 8) % 7;
    }
  }

private:
  std::uint32_t state_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2)
    return 0;
  std::size_t max = data[0] < 128 ? data[0] % 64 : default_max_frame_size;
  chunker chunks{data[1]};
  std::string_view stream{reinterpret_cast<const char*>(data + 2), size - 2};
  auto expected = decode_whole(stream, max);

  frame_decoder decoder{max};
  std::vector<frame> frames;
  std::size_t fed = 0;
  auto status = frame_decoder::status::ok;
  while (fed < stream.size()) {
    auto n = std::min(chunks.next(), stream.size() - fed);
    status = decoder.feed(stream.data() + fed, n, frames);
    fed += n;
    if (status == frame_decoder::status::too_large)
      break;
    // Every frame that ends within the bytes fed so far is out, and no other.
    std::size_t due = 0;
    while (due < expected.ends.size() && expected.ends[due] <= fed)
      ++due;
    check(frames.size() == due, "frames delivered do not match the bytes fed");
  }

  check(frames.size() == expected.payloads.size(), "frame count differs from the reference");
  std::string reencoded;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    auto& f = frames[i];
    check(f.valid(), "a frame without a buffer");
    check(f.payload().size() <= max, "a frame over the limit");
    check(f.padded_size() >= f.payload().size() + frame_padding, "a frame without its padding");
    check(f.payload() == expected.payloads[i], "a frame differs from the reference");
    reencoded += encode_frame(f.payload());
  }
  std::size_t consumed = expected.ends.empty() ? 0 : expected.ends.back();
  check(reencoded == stream.substr(0, consumed), "re-encoded frames differ from the stream");

  check((status == frame_decoder::status::too_large) == expected.too_large,
        "too_large differs from the reference");
  if (expected.too_large) {
    check(decoder.rejected_length() == expected.rejected, "wrong rejected length");
    check(decoder.rejected_length() > max, "rejected a length within the limit");
    // A failed decoder stays failed and yields nothing more.
    auto before = frames.size();
    check(decoder.feed("\0\0\0\0", 4, frames) == frame_decoder::status::too_large,
          "a failed decoder recovered");
    check(frames.size() == before, "a failed decoder produced a frame");
  } else {
    // A partial prefix is held as bytes; once whole it is a length, and only payload counts.
    auto rest = stream.size() - consumed;
    check(decoder.buffered() == (rest < 4 ? rest : rest - 4), "buffered() misses bytes");
  }
  return 0;
}

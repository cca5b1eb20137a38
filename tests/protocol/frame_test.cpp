#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet_reader.hpp"

#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace rcbroker::protocol {
namespace {

using status = frame_decoder::status;

void expect_padded(const frame& f) {
  ASSERT_TRUE(f.valid());
  EXPECT_GE(f.padded_size(), f.payload().size() + frame_padding)
      << "payload of " << f.payload().size() << " bytes";
}

std::string header(std::uint32_t length) {
  auto h = encode_length(length);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

status feed(frame_decoder& d, std::string_view bytes, std::vector<frame>& out) {
  return d.feed(bytes.data(), bytes.size(), out);
}

std::string payload_of_size(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng() & 0xFF);
  return s;
}

// -- frame --------------------------------------------------------------------------------------

TEST(Frame, CopiesPayloadIntoAPaddedBuffer) {
  std::string text = R"({"packet_type":"RUN"})";
  frame f{text};
  EXPECT_EQ(f.payload(), text);
  EXPECT_NE(f.payload().data(), text.data());
  expect_padded(f);
  EXPECT_EQ(frame_padding, 64u);
}

TEST(Frame, DefaultFrameIsEmptyAndInvalid) {
  frame f;
  EXPECT_FALSE(f.valid());
  EXPECT_TRUE(f.payload().empty());
  EXPECT_EQ(f.padded_size(), 0u);
}

TEST(Frame, EmptyPayloadIsValidAndPadded) {
  frame f{std::string_view{}};
  EXPECT_TRUE(f.payload().empty());
  expect_padded(f);
}

TEST(Frame, AdoptKeepsBytesAndPadsSmallAndLargeStrings) {
  for (std::size_t n : {0u, 1u, 15u, 16u, 100u, 4096u, 100000u}) {
    auto payload = payload_of_size(n, static_cast<unsigned>(n));
    auto f = frame::adopt(std::string{payload});
    EXPECT_EQ(f.payload(), payload);
    expect_padded(f);
  }
}

TEST(Frame, CopiesShareTheBuffer) {
  frame a{"abc"};
  frame b = a;
  EXPECT_EQ(a.payload().data(), b.payload().data());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, frame{"abc"});
  EXPECT_FALSE(a == frame{"abd"});
}

TEST(Frame, EncodesLengthBigEndian) {
  auto h = encode_length(0x01020304u);
  EXPECT_EQ(h[0], 0x01);
  EXPECT_EQ(h[1], 0x02);
  EXPECT_EQ(h[2], 0x03);
  EXPECT_EQ(h[3], 0x04);
  auto max = encode_length(0xFFFFFFFFu);
  for (auto byte : max)
    EXPECT_EQ(byte, 0xFF);
  auto zero = encode_length(0);
  for (auto byte : zero)
    EXPECT_EQ(byte, 0x00);
}

TEST(Frame, EncodesAFrame) {
  EXPECT_EQ(encode_frame("{}"), std::string("\0\0\0\x02{}", 6));
  EXPECT_EQ(encode_frame(""), std::string("\0\0\0\0", 4));
  std::string big(300, 'x');
  EXPECT_EQ(encode_frame(big), std::string("\0\0\x01\x2C", 4) + big);
}

// -- frame_decoder ------------------------------------------------------------------------------

TEST(FrameDecoder, DecodesOneWholeFrame) {
  frame_decoder d;
  std::vector<frame> out;
  EXPECT_EQ(feed(d, encode_frame(R"({"a":1})"), out), status::ok);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload(), R"({"a":1})");
  expect_padded(out[0]);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, ReassemblesFramesFedByteByByte) {
  std::vector<std::string> payloads = {R"({"packet_type":"RUN"})", "x", std::string(1000, 'y'), "",
                                       payload_of_size(70, 1)};
  std::string stream;
  for (const auto& p : payloads)
    stream += encode_frame(p);

  frame_decoder d;
  std::vector<frame> out;
  std::size_t in_frame = 0; // bytes of the current frame fed so far
  for (std::size_t i = 0; i < stream.size(); ++i) {
    auto before = out.size();
    ASSERT_EQ(d.feed(stream.data() + i, 1, out), status::ok);
    if (out.size() == before) {
      ++in_frame;
      // What is held: the partial header, then the payload bytes so far.
      EXPECT_EQ(d.buffered(), in_frame < 4 ? in_frame : in_frame - 4) << "after byte " << i;
    } else {
      EXPECT_EQ(out.size(), before + 1);
      in_frame = 0;
      EXPECT_EQ(d.buffered(), 0u);
    }
  }
  ASSERT_EQ(out.size(), payloads.size());
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    EXPECT_EQ(out[i].payload(), payloads[i]) << "frame " << i;
    expect_padded(out[i]);
  }
}

TEST(FrameDecoder, SplitsCoalescedFrames) {
  std::string stream;
  for (int i = 0; i < 1000; ++i)
    stream += encode_frame("{\"n\":" + std::to_string(i) + "}");
  frame_decoder d;
  std::vector<frame> out;
  ASSERT_EQ(feed(d, stream, out), status::ok);
  ASSERT_EQ(out.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(out[i].payload(), "{\"n\":" + std::to_string(i) + "}");
    expect_padded(out[i]);
  }
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, KeepsAPartialFrameAtTheEndOfAFeed) {
  std::string stream = encode_frame("first") + encode_frame("second");
  frame_decoder d;
  std::vector<frame> out;
  // The first frame whole, the second's header and two payload bytes.
  ASSERT_EQ(d.feed(stream.data(), 9 + 4 + 2, out), status::ok);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload(), "first");
  EXPECT_EQ(d.buffered(), 2u);
  // A header split in two.
  ASSERT_EQ(d.feed(stream.data() + 15, stream.size() - 15, out), status::ok);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].payload(), "second");

  std::vector<frame> more;
  std::string h = header(3);
  ASSERT_EQ(d.feed(h.data(), 3, more), status::ok);
  EXPECT_EQ(d.buffered(), 3u);
  ASSERT_EQ(d.feed(h.data() + 3, 1, more), status::ok);
  ASSERT_EQ(feed(d, "abc", more), status::ok);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].payload(), "abc");
}

TEST(FrameDecoder, AppendsWithoutClearingTheOutput) {
  frame_decoder d;
  std::vector<frame> out;
  out.emplace_back("already there");
  ASSERT_EQ(feed(d, encode_frame("new"), out), status::ok);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload(), "already there");
  EXPECT_EQ(out[1].payload(), "new");
}

TEST(FrameDecoder, DeliversAZeroLengthFrameAsAnEmptyPayload) {
  frame_decoder d;
  std::vector<frame> out;
  ASSERT_EQ(feed(d, header(0) + header(0) + encode_frame("{}"), out), status::ok);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].valid());
  EXPECT_TRUE(out[0].payload().empty());
  expect_padded(out[0]);
  EXPECT_TRUE(out[1].payload().empty());
  EXPECT_EQ(out[2].payload(), "{}");
  // The reader turns it into a bad packet.
  EXPECT_EQ(read_packet(out[0]).error, "empty frame");
}

TEST(FrameDecoder, AcceptsALengthExactlyAtTheLimit) {
  frame_decoder d{100};
  std::vector<frame> out;
  auto payload = std::string(100, 'z');
  ASSERT_EQ(feed(d, encode_frame(payload), out), status::ok);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload(), payload);
  expect_padded(out[0]);
}

TEST(FrameDecoder, RejectsALengthOverTheLimit) {
  frame_decoder d{100};
  std::vector<frame> out;
  // A good frame first: it is still delivered.
  auto stream = encode_frame("ok") + header(101) + std::string(101, 'z');
  EXPECT_EQ(feed(d, stream, out), status::too_large);
  EXPECT_EQ(d.rejected_length(), 101u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload(), "ok");

  // The stream cannot be resynchronised: the decoder stays failed.
  EXPECT_EQ(feed(d, encode_frame("later"), out), status::too_large);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(d.rejected_length(), 101u);
}

TEST(FrameDecoder, RejectsAnOversizedHeaderFedByteByByte) {
  frame_decoder d{1000};
  std::vector<frame> out;
  auto h = header(1001);
  EXPECT_EQ(d.feed(h.data(), 1, out), status::ok);
  EXPECT_EQ(d.feed(h.data() + 1, 1, out), status::ok);
  EXPECT_EQ(d.feed(h.data() + 2, 1, out), status::ok);
  EXPECT_EQ(d.feed(h.data() + 3, 1, out), status::too_large);
  EXPECT_EQ(d.rejected_length(), 1001u);
  EXPECT_TRUE(out.empty());
}

TEST(FrameDecoder, DefaultLimitIs16MiB) {
  EXPECT_EQ(default_max_frame_size, 16u * 1024u * 1024u);
  frame_decoder d;
  std::vector<frame> out;
  EXPECT_EQ(feed(d, header(16u * 1024u * 1024u + 1u), out), status::too_large);
  EXPECT_EQ(d.rejected_length(), 16u * 1024u * 1024u + 1u);

  // Exactly 16 MiB is allowed: the header alone does not fail.
  frame_decoder at_limit;
  EXPECT_EQ(feed(at_limit, header(16u * 1024u * 1024u), out), status::ok);
  EXPECT_EQ(feed(at_limit, "{", out), status::ok);
  EXPECT_EQ(at_limit.buffered(), 1u);
}

TEST(FrameDecoder, GarbageHeaderIsAHugeLength) {
  // Someone speaking HTTP to the broker: "GET " is a length of 0x47455420.
  frame_decoder d;
  std::vector<frame> out;
  EXPECT_EQ(feed(d, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out), status::too_large);
  EXPECT_EQ(d.rejected_length(), 0x47455420u);
  EXPECT_TRUE(out.empty());

  frame_decoder all_ones;
  EXPECT_EQ(feed(all_ones, "\xFF\xFF\xFF\xFF", out), status::too_large);
  EXPECT_EQ(all_ones.rejected_length(), 0xFFFFFFFFu);
}

TEST(FrameDecoder, ALyingLengthHoldsOnlyWhatArrived) {
  frame_decoder d;
  std::vector<frame> out;
  ASSERT_EQ(feed(d, header(16u * 1024u * 1024u) + "{\"a\":", out), status::ok);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.buffered(), 5u);
}

TEST(FrameDecoder, ZeroLimitAllowsOnlyEmptyFrames) {
  frame_decoder d{0};
  std::vector<frame> out;
  EXPECT_EQ(feed(d, header(0), out), status::ok);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(feed(d, header(1) + "x", out), status::too_large);
  EXPECT_EQ(d.rejected_length(), 1u);
}

TEST(FrameDecoder, KeepsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  frame_decoder d;
  std::vector<frame> out;
  ASSERT_EQ(feed(d, encode_frame(all), out), status::ok);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload(), all);
}

TEST(FrameDecoder, ReassemblesRandomlyChunkedStreams) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> payloads;
    std::string stream;
    int count = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < count; ++i) {
      // Sizes around the padding and growth boundaries, and a few large ones.
      std::size_t size = rng() % 4 == 0 ? rng() % 200000 : rng() % 200;
      payloads.push_back(payload_of_size(size, rng()));
      stream += encode_frame(payloads.back());
    }
    frame_decoder d;
    std::vector<frame> out;
    for (std::size_t at = 0; at < stream.size();) {
      std::size_t chunk = std::min<std::size_t>(stream.size() - at, 1 + rng() % 70000);
      ASSERT_EQ(d.feed(stream.data() + at, chunk, out), status::ok);
      at += chunk;
    }
    ASSERT_EQ(out.size(), payloads.size()) << "round " << round;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      EXPECT_EQ(out[i].payload(), payloads[i]) << "round " << round << " frame " << i;
      expect_padded(out[i]);
    }
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(FrameDecoder, DecodedFramesAreReadableInPlace) {
  std::string json = R"({"packet_type":"CANCEL","cookie":"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7"})";
  auto stream = encode_frame(json);
  frame_decoder d;
  std::vector<frame> out;
  for (char c : stream)
    ASSERT_EQ(d.feed(&c, 1, out), status::ok);
  ASSERT_EQ(out.size(), 1u);
  auto r = read_packet(out[0]);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.fields.type, packet_type::cancel);
}

TEST(FrameDecoder, FeedingNothingDoesNothing) {
  frame_decoder d;
  std::vector<frame> out;
  EXPECT_EQ(d.feed(nullptr, 0, out), status::ok);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.buffered(), 0u);
}

// -- frames as slices of a read's block ---------------------------------------------------------

// Copies `bytes` into a fresh block as a socket read would, with the padding after them.
block_ref block_holding(std::string_view bytes) {
  auto b = block_ref::adopt(byte_block::allocate(bytes.size() + frame_padding));
  std::copy(bytes.begin(), bytes.end(), b->data());
  return b;
}

TEST(FrameDecoderBlock, FramesWholeInOneReadAreSlicesOfItsBlock) {
  auto wire = encode_frame(R"({"a":1})") + encode_frame(R"({"b":2})");
  auto block = block_holding(wire);
  frame_decoder d;
  std::vector<frame> out;
  ASSERT_EQ(d.feed(block, block->data(), wire.size(), out), status::ok);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload(), R"({"a":1})");
  EXPECT_EQ(out[1].payload(), R"({"b":2})");
  EXPECT_EQ(out[0].payload().data(), block->data() + 4);
  EXPECT_EQ(out[1].payload().data(), block->data() + 4 + 7 + 4);
  expect_padded(out[0]);
  expect_padded(out[1]);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoderBlock, ASliceKeepsItsBlockAlive) {
  auto wire = encode_frame(R"({"kept":true})");
  std::vector<frame> out;
  {
    auto block = block_holding(wire);
    frame_decoder d;
    ASSERT_EQ(d.feed(block, block->data(), wire.size(), out), status::ok);
    EXPECT_FALSE(block->unique());
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload(), R"({"kept":true})");
}

TEST(FrameDecoderBlock, AFrameSplitAcrossReadsIsAssembledInItsOwnBlock) {
  auto wire = encode_frame(R"({"split":"across reads"})");
  auto first = block_holding(wire.substr(0, 9));
  auto second = block_holding(wire.substr(9));
  frame_decoder d;
  std::vector<frame> out;
  ASSERT_EQ(d.feed(first, first->data(), 9, out), status::ok);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.buffered(), 5u);
  ASSERT_EQ(d.feed(second, second->data(), wire.size() - 9, out), status::ok);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload(), R"({"split":"across reads"})");
  EXPECT_NE(out[0].payload().data(), second->data());
  expect_padded(out[0]);
  EXPECT_TRUE(first->unique());
  EXPECT_TRUE(second->unique());
}

TEST(FrameDecoderBlock, ALyingPrefixAllocatesOnlyWhatArrived) {
  frame_decoder d{1u << 30};
  std::vector<frame> out;
  auto wire = header(1u << 29) + "{\"";
  auto block = block_holding(wire);
  ASSERT_EQ(d.feed(block, block->data(), wire.size(), out), status::ok);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.buffered(), 2u);
}

TEST(FrameDecoderBlock, ACompactedSliceLetsItsReadBlockGo) {
  auto* pooled = byte_block::allocate_pooled();
  auto block = block_ref::adopt(pooled);
  auto wire = encode_frame(R"({"queued":true})");
  std::copy(wire.begin(), wire.end(), block->data());
  frame_decoder d;
  std::vector<frame> out;
  ASSERT_EQ(d.feed(block, block->data(), wire.size(), out), status::ok);
  ASSERT_EQ(out.size(), 1u);
  auto kept = out[0].compacted();
  out.clear();
  EXPECT_TRUE(block->unique()) << "the copy must not hold the read block";
  EXPECT_EQ(kept.payload(), R"({"queued":true})");
  expect_padded(kept);
  frame own{"x"};
  EXPECT_EQ(own.compacted().payload().data(), own.payload().data()) << "no copy of its own block";
}

TEST(ByteBlock, PooledBlocksAreReused) {
  auto* a = byte_block::allocate_pooled();
  EXPECT_GE(a->capacity(), byte_block::pooled_capacity);
  a->release();
  auto* b = byte_block::allocate_pooled();
  EXPECT_EQ(a, b);
  b->release();
}

} // namespace
} // namespace rcbroker::protocol

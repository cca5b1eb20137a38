// Micro-benchmark of protocol::read_packet over typical frames (not a test: never run by CTest).
//
// Usage: packet_reader_bench [seconds per frame kind, default 1] [name filter]
// Prints, for each kind, ns per frame (best and median of 5 rounds), MB/s at the best round,
// and heap allocations per frame.

#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet_reader.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::atomic<std::size_t> allocations{0};

} // namespace

// Counts heap allocations, to check that reading a small frame makes none.
void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1))
    return p;
  throw std::bad_alloc{};
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using rcbroker::protocol::frame;
using rcbroker::protocol::read_packet;
using clock_type = std::chrono::steady_clock;

constexpr std::string_view cookie = "0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7";

// JSON text of about `size` bytes, as Python's json.dumps writes a dict of strings and numbers.
std::string json_text(std::size_t size) {
  std::string out = "{";
  for (int i = 0; out.size() + 2 < size; ++i) {
    if (i > 0)
      out += ", ";
    out += "\"key" + std::to_string(i) + "\": ";
    out += i % 2 ? std::to_string(i * 7919) : "\"value " + std::to_string(i) + "\"";
  }
  out += "}";
  return out;
}

// `text` as a JSON string literal (it holds only printable ASCII).
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// A packet as an original peer writes it: every field, nulls included, in the protocol's order.
std::string packet(std::string_view type, std::string_view pipeline, std::string_view variables,
                   std::string_view detach, std::string_view rc, std::string_view result) {
  std::string out = R"({"packet_type":")" + std::string{type} + R"(","cookie":")" +
                    std::string{cookie} + R"(","capacity":null,"pipeline":)";
  out += pipeline;
  out += R"(,"variables":)";
  out += variables;
  out += R"(,"detach":)";
  out += detach;
  out += R"(,"rc":)";
  out += rc;
  out += R"(,"error":null,"stacktrace":null,"result":)";
  out += result;
  out += "}";
  return out;
}

// A RUN with an unknown field that is one object of small keys, `size` bytes in all: valid, so it
// is checked to its end and forwarded.
std::string many_keys(std::size_t size) {
  std::string out = R"({"packet_type":"RUN","cookie":")" + std::string{cookie} +
                    R"(","pipeline":"echo","variables":"{}","extra":{)";
  for (int i = 0; out.size() + 16 < size; ++i)
    out += (i > 0 ? ",\"" : "\"") + std::to_string(i) + "\":" + std::to_string(i % 10);
  out += "}}";
  return out;
}

struct bench_case {
  std::string name;
  std::string payload;
};

std::vector<bench_case> cases() {
  return {
      {"RUN 256 B variables",
       packet("RUN", "\"echo\"", quoted(json_text(256)), "false", "null", "null")},
      {"RESULT 256 B result",
       packet("RESULT", "null", "null", "null", "\"OK\"", quoted(json_text(256)))},
      {"CANCEL", packet("CANCEL", "null", "null", "null", "null", "null")},
      {"RUN 1 MiB variables",
       packet("RUN", "\"echo\"", quoted(json_text(1u << 20)), "false", "null", "null")},
      // About the worst a peer can send: a frame of max-frame-size (16 MiB) holding an object of
      // about 1.5 million small keys, all checked before the RUN is forwarded.
      {"16 MiB of small keys", many_keys(16u << 20)},
  };
}

} // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  if (!(seconds > 0))
    seconds = 1.0;
  std::string_view filter = argc > 2 ? argv[2] : "";
  std::printf("read_packet: %.2f s per frame kind\n", seconds);
  std::printf("%-22s %10s %12s %12s %10s %12s %10s\n", "frame", "bytes", "ns/frame(min)",
              "ns(median)", "MB/s", "allocs/frame", "frames");
  std::fflush(stdout);
  const auto budget = std::chrono::duration<double>(seconds);
  for (auto& c : cases()) {
    if (!filter.empty() && c.name.find(filter) == std::string::npos)
      continue;
    const frame f{c.payload};
    auto check = read_packet(f);
    if (!check.ok()) {
      std::fprintf(stderr, "%s: not a good packet: %s\n", c.name.c_str(), check.error.c_str());
      return 1;
    }
    // Warm up, then time rounds of batches until the time is up; the best round counts (the
    // machine may be busy), the median is shown too.
    for (int i = 0; i < 10; ++i)
      (void)read_packet(f);
    const std::size_t batch = c.payload.size() > 100000 ? 2 : 1024;
    constexpr int rounds = 5;
    std::vector<double> round_ns;
    std::size_t frames = 0;
    std::size_t sink = 0;
    std::size_t allocs_before = allocations.load();
    for (int round = 0; round < rounds; ++round) {
      std::size_t round_frames = 0;
      auto start = clock_type::now();
      auto now = start;
      do {
        for (std::size_t i = 0; i < batch; ++i) {
          auto r = read_packet(f);
          sink += r.error.size() + (r.fields.cookie ? 1 : 0);
        }
        round_frames += batch;
        now = clock_type::now();
      } while (now - start < budget / rounds);
      frames += round_frames;
      round_ns.push_back(std::chrono::duration<double, std::nano>(now - start).count() /
                         double(round_frames));
    }
    std::size_t allocs = allocations.load() - allocs_before;
    std::sort(round_ns.begin(), round_ns.end());
    double ns = round_ns.front();
    double mbps = double(c.payload.size()) / ns * 1e3; // bytes per ns is GB/s
    std::printf("%-22s %10zu %12.1f %12.1f %10.1f %12.2f %10zu\n", c.name.c_str(), c.payload.size(),
                ns, round_ns[rounds / 2], mbps, double(allocs) / double(frames), frames);
    std::fflush(stdout);
    if (sink != frames)
      std::fprintf(stderr, "unexpected results\n");
  }
  return 0;
}

#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rcbench {

/// Latencies in nanoseconds, in log-linear buckets: exact below 256 ns, then 128 buckets per
/// power of two (under 0.8 % error). Recording is O(1) and never allocates.
class latency_histogram {
public:
  /// An empty histogram (allocates its buckets once).
  latency_histogram();

  /// Adds one sample.
  void record(std::uint64_t ns) noexcept {
    ++counts_[index_of(ns)];
    ++count_;
    if (ns > max_)
      max_ = ns;
  }

  /// Adds every sample of `other`.
  void merge(const latency_histogram& other) noexcept;

  /// Number of samples.
  std::uint64_t count() const noexcept { return count_; }

  /// The largest sample, exact (0 when empty).
  std::uint64_t max() const noexcept { return max_; }

  /// The sample at quantile `q` (0..1): the upper bound of its bucket, never above max().
  std::uint64_t quantile(double q) const noexcept;

private:
  static constexpr unsigned linear_bits = 8; // values below 2^8 get a bucket each
  static constexpr std::uint64_t half = std::uint64_t{1} << (linear_bits - 1);

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < (std::uint64_t{1} << linear_bits))
      return static_cast<std::size_t>(v);
    unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(v));
    unsigned shift = msb - (linear_bits - 1);
    auto mantissa = v >> shift; // in [half, 2 * half)
    return (std::size_t{1} << linear_bits) + (shift - 1) * half + (mantissa - half);
  }

  static std::uint64_t upper_bound_of(std::size_t index) noexcept;

  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

} // namespace rcbench

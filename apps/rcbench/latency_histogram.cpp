#include "latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace rcbench {

namespace {

// Enough buckets for every 64-bit value.
constexpr std::size_t bucket_count = 256 + 56 * 128;

} // namespace

latency_histogram::latency_histogram() : counts_(bucket_count, 0) {}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t latency_histogram::upper_bound_of(std::size_t index) noexcept {
  if (index < (std::size_t{1} << linear_bits))
    return index;
  auto k = index - (std::size_t{1} << linear_bits);
  unsigned shift = static_cast<unsigned>(k / half) + 1;
  std::uint64_t mantissa = half + k % half;
  return (mantissa << shift) + ((std::uint64_t{1} << shift) - 1);
}

std::uint64_t latency_histogram::quantile(double q) const noexcept {
  if (count_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the sample at q, counted from 1 (nearest-rank definition).
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::min(upper_bound_of(i), max_);
  }
  return max_;
}

} // namespace rcbench

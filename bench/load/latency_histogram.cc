// latency_histogram.cc - see latency_histogram.h.
#include "latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace listgate::loadbench {

// Buckets 0..kLinear-1 hold the value itself. From kLinear on, a value
// with its top bit at position `msb` is cut to its top kSubBits+1 bits
// (the mantissa, kLinear/2..kLinear-1) and shifted by msb - kSubBits:
// index = shift * 2^kSubBits + mantissa.
size_t LatencyHistogram::bucket_of(uint64_t v) {
  if (v < kLinear) return static_cast<size_t>(v);
  const int msb = 63 - std::countl_zero(v);
  const int shift = msb - kSubBits;
  const uint64_t mantissa = v >> shift;
  return static_cast<size_t>(shift) * (size_t{1} << kSubBits) + static_cast<size_t>(mantissa);
}

uint64_t LatencyHistogram::bucket_low(size_t index) {
  if (index < kLinear) return index;
  const size_t per = size_t{1} << kSubBits;
  const size_t shift = index / per - 1;
  const uint64_t mantissa = index % per + per;
  return mantissa << shift;
}

uint64_t LatencyHistogram::bucket_high(size_t index) {
  if (index < kLinear) return index;
  const size_t per = size_t{1} << kSubBits;
  const size_t shift = index / per - 1;
  return bucket_low(index) + (uint64_t{1} << shift) - 1;
}

void LatencyHistogram::record(std::chrono::nanoseconds d) {
  const uint64_t v = d.count() < 0 ? 0 : static_cast<uint64_t>(d.count());
  ++buckets_[bucket_of(v)];
  ++count_;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  sum_ += static_cast<long double>(v);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

std::chrono::nanoseconds LatencyHistogram::mean() const {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(sum_ / count_)));
}

std::chrono::nanoseconds LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  p = std::clamp(p, 0.0, 100.0);
  // The rank (1-based) of the value wanted: the smallest for p = 0.
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))));
  // The first and the last rank are known exactly.
  if (rank == 1) return std::chrono::nanoseconds(static_cast<int64_t>(min_));
  if (rank >= count_) return std::chrono::nanoseconds(static_cast<int64_t>(max_));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const uint64_t mid = bucket_low(i) + (bucket_high(i) - bucket_low(i)) / 2;
      return std::chrono::nanoseconds(static_cast<int64_t>(std::clamp(mid, min_, max_)));
    }
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(max_));
}

}  // namespace listgate::loadbench

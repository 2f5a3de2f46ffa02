// latency_histogram.h - a log-linear histogram of durations.
//
// Values are nanoseconds. Below 256 ns every value has a bucket of its
// own; above, each power of two is split into 128 buckets, so a reported
// percentile is within 0.8 % of the true value. Recording is an index
// computation and an increment: cheap enough for every message.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace listgate::loadbench {

class LatencyHistogram {
 public:
  void record(std::chrono::nanoseconds d);
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  std::chrono::nanoseconds min() const { return std::chrono::nanoseconds(count_ ? min_ : 0); }
  std::chrono::nanoseconds max() const { return std::chrono::nanoseconds(max_); }
  std::chrono::nanoseconds mean() const;
  // The value at or below which `p` percent (0..100) of the recorded values
  // lie: the middle of the bucket holding that rank, clamped to min..max
  // (the first and last rank: min and max exactly). 0 with nothing recorded.
  std::chrono::nanoseconds percentile(double p) const;

 private:
  static constexpr int kSubBits = 7;                        // 128 buckets per power of two
  static constexpr uint64_t kLinear = uint64_t{2} << kSubBits;  // values below: exact buckets
  static constexpr size_t kBuckets = (64 - kSubBits) * (size_t{1} << kSubBits) + kLinear;

  static size_t bucket_of(uint64_t v);
  static uint64_t bucket_low(size_t index);
  static uint64_t bucket_high(size_t index);  // inclusive

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace listgate::loadbench

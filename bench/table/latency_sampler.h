// latency_sampler.h - per-call latency percentiles for the lookup benchmarks.
//
// Google Benchmark's time per iteration is a throughput figure: successive
// independent lookups overlap in the CPU. The percentiles here time each
// call on its own, fenced with the time-stamp counter, minus the cost of
// the fences themselves, so p50 is the latency one RCPT command sees.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace listgate::bench {

struct LatencyPercentiles {
  double p50_ns = 0;
  double p99_ns = 0;
};

class LatencySampler {
 public:
  // Times `count` calls of call(i), i = 0..count-1.
  template <class Call>
  static LatencyPercentiles sample(size_t count, Call&& call) {
    std::vector<uint64_t> ticks(count);
    for (size_t i = 0; i < count; ++i) {
      const uint64_t start = begin();
      call(i);
      ticks[i] = end() - start;
    }
    const double overhead = static_cast<double>(fence_overhead());
    auto percentile = [&](double fraction) {
      const size_t k = std::min(count - 1, static_cast<size_t>(fraction * static_cast<double>(count)));
      std::nth_element(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(k), ticks.end());
      return std::max(0.0, static_cast<double>(ticks[k]) - overhead) * ns_per_tick();
    };
    LatencyPercentiles out;
    out.p50_ns = percentile(0.50);
    out.p99_ns = percentile(0.99);
    return out;
  }

 private:
#if defined(__x86_64__)
  static uint64_t begin() {
    _mm_lfence();
    const uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
  }
  static uint64_t end() {
    unsigned aux;
    const uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
  }
#else
  static uint64_t begin() {
    return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  static uint64_t end() { return begin(); }
#endif

  // The median cost of timing nothing.
  static uint64_t fence_overhead() {
    static const uint64_t overhead = [] {
      constexpr size_t kRounds = 10001;
      std::vector<uint64_t> t(kRounds);
      for (auto& v : t) {
        const uint64_t start = begin();
        v = end() - start;
      }
      std::nth_element(t.begin(), t.begin() + kRounds / 2, t.end());
      return t[kRounds / 2];
    }();
    return overhead;
  }

  static double ns_per_tick() {
    static const double value = [] {
      using Clock = std::chrono::steady_clock;
      constexpr auto kCalibration = std::chrono::milliseconds(50);
      const auto wall_start = Clock::now();
      const uint64_t tick_start = begin();
      while (Clock::now() - wall_start < kCalibration) {
      }
      const uint64_t ticks = end() - tick_start;
      const double ns = std::chrono::duration<double, std::nano>(Clock::now() - wall_start).count();
      return ns / static_cast<double>(ticks);
    }();
    return value;
  }
};

}  // namespace listgate::bench

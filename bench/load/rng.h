// rng.h - splitmix64: a small, fast, seedable generator for the workload.
#pragma once

#include <cstdint>

namespace listgate::loadbench {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() { return step(state_); }
  // Uniform in [0, n) (n > 0); the modulo bias is below 2^-40 for n < 2^24.
  uint64_t below(uint64_t n) { return next() % n; }

  static uint64_t step(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

}  // namespace listgate::loadbench

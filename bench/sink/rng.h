// rng.h - the sink's random source for probabilistic faults.
//
// splitmix64: tiny, fast, and the same sequence for the same seed on every
// machine (std::uniform_real_distribution is not specified bit for bit), so
// `--seed N` makes a fault run reproducible.
#pragma once

#include <cstdint>

namespace listgate::sink {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  void seed(uint64_t s) { state_ = s; }
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace listgate::sink

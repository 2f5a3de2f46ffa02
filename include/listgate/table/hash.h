// hash.h - the 64-bit string hash behind the list table's perfect hashes.
//
// wyhash-style: the input is read in 8-byte words (short inputs in 4-byte
// halves, so no byte loop), each pair of words is folded through one
// 64x64->128 multiply, and a final multiply spreads every input bit over the
// whole result. Addresses are short (mostly under 48 octets), so the cost is
// two or three multiplies; the perfect hash needs all 64 bits well mixed
// because it takes the bucket, the slot and the fingerprint from different
// bits of one hash. Header-only so it inlines into the lookup path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace listgate::table {

namespace hash_detail {

// Odd 64-bit constants with 32 set bits each (wyhash's "secret" shape).
inline constexpr uint64_t kSecret0 = 0xa0761d6478bd642full;
inline constexpr uint64_t kSecret1 = 0xe7037ed1a0b428dbull;
inline constexpr uint64_t kSecret2 = 0x8ebc6af09c88c6e3ull;
inline constexpr uint64_t kSecret3 = 0x589965cc75374cc3ull;

inline constexpr size_t kShortInput = 16;  // inputs up to this are read as 4 halves
inline constexpr size_t kStripe = 48;      // bytes per round of the three-lane loop
inline constexpr size_t kPair = 16;        // bytes per round of the single-lane loop

inline uint64_t read64(const char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint64_t read32(const char* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Multiplies to 128 bits and folds the halves together.
inline uint64_t fold_multiply(uint64_t a, uint64_t b) noexcept {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

}  // namespace hash_detail

inline uint64_t hash_bytes(const char* p, size_t n, uint64_t seed) noexcept {
  using namespace hash_detail;
  seed ^= fold_multiply(seed ^ kSecret0, kSecret1);
  uint64_t a = 0;
  uint64_t b = 0;
  if (n <= kShortInput) {
    if (n >= 4) {
      // Two overlapping reads from each end cover 4..16 bytes exactly.
      const size_t quarter = (n >> 3) << 2;
      a = (read32(p) << 32) | read32(p + quarter);
      b = (read32(p + n - 4) << 32) | read32(p + n - 4 - quarter);
    } else if (n > 0) {
      a = (uint64_t{static_cast<uint8_t>(p[0])} << 16) |
          (uint64_t{static_cast<uint8_t>(p[n >> 1])} << 8) | static_cast<uint8_t>(p[n - 1]);
    }
  } else {
    size_t remaining = n;
    if (remaining > kStripe) {
      uint64_t lane1 = seed;
      uint64_t lane2 = seed;
      do {
        seed = fold_multiply(read64(p) ^ kSecret1, read64(p + 8) ^ seed);
        lane1 = fold_multiply(read64(p + 16) ^ kSecret2, read64(p + 24) ^ lane1);
        lane2 = fold_multiply(read64(p + 32) ^ kSecret3, read64(p + 40) ^ lane2);
        p += kStripe;
        remaining -= kStripe;
      } while (remaining > kStripe);
      seed ^= lane1 ^ lane2;
    }
    while (remaining > kPair) {
      seed = fold_multiply(read64(p) ^ kSecret1, read64(p + 8) ^ seed);
      p += kPair;
      remaining -= kPair;
    }
    // The last 16 bytes of the input (they may overlap bytes already mixed).
    a = read64(p + remaining - 16);
    b = read64(p + remaining - 8);
  }
  a ^= kSecret1;
  b ^= seed;
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return fold_multiply(static_cast<uint64_t>(product) ^ kSecret0 ^ n,
                       static_cast<uint64_t>(product >> 64) ^ kSecret1);
}

inline uint64_t hash_bytes(std::string_view s, uint64_t seed) noexcept {
  return hash_bytes(s.data(), s.size(), seed);
}

}  // namespace listgate::table

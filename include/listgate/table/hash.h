// hash.h - the 64-bit string hash behind the list table's perfect hashes.
//
// wyhash-style: the input is read in 8-byte words (short inputs in 4-byte
// halves, so no byte loop), each pair of words is folded through one
// 64x64->128 multiply, and a final multiply spreads every input bit over the
// whole result. Addresses are short (mostly under 48 octets), so the cost is
// two or three multiplies; the perfect hash needs all 64 bits well mixed
// because it takes the bucket, the slot and the fingerprint from different
// bits of one hash.
//
// The hash is written once over a "reader" so that it can also hash a key
// that is never built: FoldedKey describes lower-case(bytes) followed by a
// 4-byte tag, and hash_folded() gives exactly hash_bytes() of that string
// while reading the caller's bytes as they are. The RCPT path uses it to
// look an address up without copying or lower-casing it first (a copy it
// would read back at once, paying store-to-load stalls). Header-only so it
// inlines into the lookup path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "listgate/table/bytes.h"

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

using bytes::lowercase_word;
using bytes::read32;
using bytes::read64;
using bytes::read_partial;

// Multiplies to 128 bits and folds the halves together.
inline uint64_t fold_multiply(uint64_t a, uint64_t b) noexcept {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

// Reads a plain byte string.
struct PlainReader {
  const char* p;
  uint64_t word(size_t at) const noexcept { return read64(p + at); }
  uint64_t half(size_t at) const noexcept { return read32(p + at); }
  uint64_t byte(size_t at) const noexcept { return static_cast<uint8_t>(p[at]); }
};

// The hash proper, over any reader of `n` bytes.
template <class Reader>
[[gnu::always_inline]] inline uint64_t hash_with(const Reader& in, size_t n, uint64_t seed) noexcept {
  seed ^= fold_multiply(seed ^ kSecret0, kSecret1);
  uint64_t a = 0;
  uint64_t b = 0;
  if (n <= kShortInput) {
    if (n >= 4) {
      // Two overlapping reads from each end cover 4..16 bytes exactly.
      const size_t quarter = (n >> 3) << 2;
      a = (in.half(0) << 32) | in.half(quarter);
      b = (in.half(n - 4) << 32) | in.half(n - 4 - quarter);
    } else if (n > 0) {
      a = (in.byte(0) << 16) | (in.byte(n >> 1) << 8) | in.byte(n - 1);
    }
  } else {
    size_t at = 0;
    size_t remaining = n;
    if (remaining > kStripe) {
      uint64_t lane1 = seed;
      uint64_t lane2 = seed;
      do {
        seed = fold_multiply(in.word(at) ^ kSecret1, in.word(at + 8) ^ seed);
        lane1 = fold_multiply(in.word(at + 16) ^ kSecret2, in.word(at + 24) ^ lane1);
        lane2 = fold_multiply(in.word(at + 32) ^ kSecret3, in.word(at + 40) ^ lane2);
        at += kStripe;
        remaining -= kStripe;
      } while (remaining > kStripe);
      seed ^= lane1 ^ lane2;
    }
    while (remaining > kPair) {
      seed = fold_multiply(in.word(at) ^ kSecret1, in.word(at + 8) ^ seed);
      at += kPair;
      remaining -= kPair;
    }
    // The last 16 bytes of the input (they may overlap bytes already mixed).
    a = in.word(n - 16);
    b = in.word(n - 8);
  }
  a ^= kSecret1;
  b ^= seed;
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return fold_multiply(static_cast<uint64_t>(product) ^ kSecret0 ^ n,
                       static_cast<uint64_t>(product >> 64) ^ kSecret1);
}

}  // namespace hash_detail

inline uint64_t hash_bytes(const char* p, size_t n, uint64_t seed) noexcept {
  return hash_detail::hash_with(hash_detail::PlainReader{p}, n, seed);
}

inline uint64_t hash_bytes(std::string_view s, uint64_t seed) noexcept {
  return hash_bytes(s.data(), s.size(), seed);
}

// The key lower-case(bytes[0, length)) followed, if has_tag, by the 4 bytes
// of `tag` (little-endian), described without being built.
struct FoldedKey {
  static constexpr size_t kTagBytes = 4;

  const char* bytes = nullptr;
  size_t length = 0;
  uint32_t tag = 0;
  bool has_tag = false;

  size_t size() const noexcept { return length + (has_tag ? kTagBytes : 0); }

  // `width` (1, 4 or 8) bytes of the key from `at`, as a little-endian word.
  uint64_t read(size_t at, size_t width) const noexcept {
    using namespace hash_detail;
    if (at + width <= length) {  // the common case: all from the caller's bytes
      const uint64_t raw = width == 8 ? read64(bytes + at)
                           : width == 4 ? read32(bytes + at)
                                        : static_cast<uint8_t>(bytes[at]);
      return lowercase_word(raw);
    }
    uint64_t word = 0;
    if (at < length) word = lowercase_word(read_partial(bytes + at, length - at));
    if (has_tag) {
      // The tag starts at `length`: shift it to where that falls in the word.
      if (length >= at) {
        const size_t shift = 8 * (length - at);
        if (shift < 64) word |= uint64_t{tag} << shift;
      } else {
        word |= uint64_t{tag} >> (8 * (at - length));
      }
    }
    const uint64_t keep = width == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * width)) - 1;
    return word & keep;
  }
};

namespace hash_detail {
// Reads lower-case(p[0, n)): every read of hash_with() lies inside.
struct LowercaseReader {
  const char* p;
  uint64_t word(size_t at) const noexcept { return lowercase_word(read64(p + at)); }
  uint64_t half(size_t at) const noexcept { return lowercase_word(read32(p + at)); }
  uint64_t byte(size_t at) const noexcept { return lowercase_word(static_cast<uint8_t>(p[at])); }
};

// Reads what a FoldedKey describes, tag included.
struct FoldedReader {
  const FoldedKey& key;
  uint64_t word(size_t at) const noexcept { return key.read(at, 8); }
  uint64_t half(size_t at) const noexcept { return key.read(at, 4); }
  uint64_t byte(size_t at) const noexcept { return key.read(at, 1); }
};
}  // namespace hash_detail

// hash_bytes() of the string `key` describes.
inline uint64_t hash_folded(const FoldedKey& key, uint64_t seed) noexcept {
  if (!key.has_tag) return hash_detail::hash_with(hash_detail::LowercaseReader{key.bytes}, key.length, seed);
  return hash_detail::hash_with(hash_detail::FoldedReader{key}, key.size(), seed);
}

// Mixes a 4-byte tag into the hash of the bytes before it. Keys that end
// in a tag (a list key ends in its domain's id) are hashed this way, so the
// body can be hashed while the tag is still being looked up.
inline uint64_t hash_with_tag(uint64_t body_hash, uint32_t tag) noexcept {
  return hash_detail::fold_multiply(body_hash ^ tag, hash_detail::kSecret2);
}

}  // namespace listgate::table

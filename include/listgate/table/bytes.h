// bytes.h - unaligned word loads and byte-parallel (SWAR) helpers.
//
// Shared by the hash, the recipient scanner and the key comparison, which
// all read addresses a word at a time. Loads go through memcpy (one move
// instruction, no alignment or aliasing trouble) and never read past the
// bytes they are given.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace listgate::table::bytes {

inline constexpr uint64_t kEveryByte = 0x0101010101010101ull;
inline constexpr uint64_t kHighBits = 0x8080808080808080ull;
inline constexpr uint64_t kLow7Bits = 0x7f7f7f7f7f7f7f7full;
inline constexpr uint64_t kCaseBits = 0x2020202020202020ull;

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

// The first `count` (0..8) bytes at p, the rest zero, without touching
// p[count]: overlapping reads put the same bytes in the same places.
inline uint64_t read_partial(const char* p, size_t count) noexcept {
  if (count >= 8) return read64(p);
  if (count >= 4) return read32(p) | (read32(p + count - 4) << (8 * (count - 4)));
  if (count == 0) return 0;
  return uint64_t{static_cast<uint8_t>(p[0])} |
         (uint64_t{static_cast<uint8_t>(p[count >> 1])} << (8 * (count >> 1))) |
         (uint64_t{static_cast<uint8_t>(p[count - 1])} << (8 * (count - 1)));
}

// ASCII upper case to lower case in each byte of a word. The sums work on
// 7-bit values, so no byte carries into its neighbour; bytes with the top
// bit set (UTF-8) are left alone.
inline uint64_t lowercase_word(uint64_t word) noexcept {
  const uint64_t low7 = word & kLow7Bits;
  const uint64_t above_z = low7 + kEveryByte * (0x7f - 'Z');
  const uint64_t from_a = low7 + kEveryByte * (0x80 - 'A');
  const uint64_t upper = (from_a ^ above_z) & ~word & kHighBits;
  return word | (upper >> 2);
}

// 0x80 in exactly the bytes of `word` that are zero (no borrow between
// bytes: the sum of two 7-bit values never carries out of its byte).
inline uint64_t zero_bytes(uint64_t word) noexcept {
  return ~(((word & kLow7Bits) + kLow7Bits) | word) & kHighBits;
}

// The first `n` (at most 8) characters of `text` as the word read64 would
// load from memory holding them, for comparing loaded words to constants.
constexpr uint64_t pack(std::string_view text, size_t n = 8) noexcept {
  uint64_t word = 0;
  for (size_t i = 0; i < n && i < text.size(); ++i) {
    const int shift = std::endian::native == std::endian::little ? 8 * static_cast<int>(i)
                                                                 : 8 * (7 - static_cast<int>(i));
    word |= uint64_t{static_cast<uint8_t>(text[i])} << shift;
  }
  return word;
}

}  // namespace listgate::table::bytes

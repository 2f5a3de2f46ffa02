// data_scanner.cc - the DATA end-of-message scan (see data_scanner.h).
//
// Vector path: for each 64-byte block, three bitmasks (bit i set when byte i
// is CR, LF or '.'). With "x<<k" meaning "the byte k places back", the
// terminator ends at bit i when
//   LF[i] & CR[i-1] & DOT[i-2] & LF[i-3] & CR[i-4]
// and a bare newline is LF[i] XOR CR[i-1] (an LF without a CR before it, or a
// CR followed by something else). Bits shifted in from before the block come
// from the previous block's masks; at the start of a call they are made up
// from the carried match state, which is all that matters of the past.
// The masks come from four 16-byte compares (SSE2) or, where the CPU has
// AVX2 (checked once at start-up), two 32-byte ones: the same loop either way.
#include "listgate/lmtp/data_scanner.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace listgate::lmtp {
namespace {

constexpr size_t kBlock = 64;

// One byte of the scalar state machine; returns true at the end of the terminator.
inline bool step(uint8_t& m, bool& bare, char c) {
  const bool after_cr = (m == kMatchCr || m == kMatchCrLfDotCr);
  switch (c) {
    case '\r':
      if (after_cr) bare = true;
      m = (m == kMatchCrLfDot) ? kMatchCrLfDotCr : kMatchCr;
      return false;
    case '\n':
      if (m == kMatchCrLfDotCr) return true;
      if (after_cr) {
        m = kMatchCrLf;
      } else {
        bare = true;
        m = kMatchNone;
      }
      return false;
    case '.':
      if (after_cr) bare = true;
      m = (m == kMatchCrLf) ? kMatchCrLfDot : kMatchNone;
      return false;
    default:
      if (after_cr) bare = true;
      m = kMatchNone;
      return false;
  }
}

DataScanResult scan_tail(const char* p, size_t n, size_t base, DataScanState& state) {
  uint8_t m = state.matched;
  bool bare = state.bare_newline;
  for (size_t i = 0; i < n; ++i) {
    if (step(m, bare, p[i])) {
      state.matched = kMatchNone;
      state.bare_newline = bare;
      return {base + i + 1, true};
    }
  }
  state.matched = m;
  state.bare_newline = bare;
  return {base + n, false};
}

#if defined(__SSE2__)

constexpr uint64_t kTop = uint64_t{1} << 63;

inline uint64_t movemask64(__m128i a, __m128i b, __m128i c, __m128i d, __m128i x) {
  const uint64_t m0 = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, x)));
  const uint64_t m1 = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(b, x)));
  const uint64_t m2 = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(c, x)));
  const uint64_t m3 = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(d, x)));
  return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
}

// The previous block's masks, as far as the match state tells them.
struct Carry {
  uint64_t cr = 0, lf = 0, dot = 0;
};

inline Carry carry_from(uint8_t m) {
  Carry c;
  switch (m) {
    case kMatchCr: c.cr = kTop; break;
    case kMatchCrLf: c.cr = kTop >> 1; c.lf = kTop; break;
    case kMatchCrLfDot: c.cr = kTop >> 2; c.lf = kTop >> 1; c.dot = kTop; break;
    case kMatchCrLfDotCr: c.cr = kTop | (kTop >> 3); c.lf = kTop >> 2; c.dot = kTop >> 1; break;
    default: break;
  }
  return c;
}

inline uint8_t match_from(const Carry& c) {
  const auto bit = [](uint64_t mask, int back) { return (mask >> (63 - back)) & 1; };
  if (bit(c.cr, 0)) {
    return (bit(c.dot, 1) && bit(c.lf, 2) && bit(c.cr, 3)) ? kMatchCrLfDotCr : kMatchCr;
  }
  if (bit(c.dot, 0) && bit(c.lf, 1) && bit(c.cr, 2)) return kMatchCrLfDot;
  if (bit(c.lf, 0) && bit(c.cr, 1)) return kMatchCrLf;
  return kMatchNone;
}

// The block loop shared by both vector paths: `masks` gives a 64-byte
// block's CR, LF and '.' masks. Returns true when the terminator was found
// (result set); else `i` is where the unscanned tail starts.
template <typename Masks>
__attribute__((always_inline)) inline bool scan_blocks(const char* p, size_t n, DataScanState& state, Masks masks,
                                                       size_t& i, DataScanResult& result) {
  Carry prev = carry_from(state.matched);
  uint64_t bare = 0;
  for (i = 0; n - i >= kBlock; i += kBlock) {
    uint64_t cr, lf, dot;
    masks(p + i, cr, lf, dot);
    const uint64_t cr1 = (cr << 1) | (prev.cr >> 63);
    const uint64_t end = lf & cr1 & ((dot << 2) | (prev.dot >> 62)) &
                         ((lf << 3) | (prev.lf >> 61)) & ((cr << 4) | (prev.cr >> 60));
    const uint64_t odd = lf ^ cr1;
    if (end != 0) {
      const int e = __builtin_ctzll(end);
      const uint64_t upto = (e == 63) ? ~uint64_t{0} : ((uint64_t{2} << e) - 1);
      state.bare_newline = state.bare_newline || ((bare | (odd & upto)) != 0);
      state.matched = kMatchNone;
      result = {i + static_cast<size_t>(e) + 1, true};
      return true;
    }
    bare |= odd;
    prev = Carry{cr, lf, dot};
  }
  state.matched = match_from(prev);
  state.bare_newline = state.bare_newline || bare != 0;
  return false;
}

inline void masks_sse2(const char* block, uint64_t& cr, uint64_t& lf, uint64_t& dot) {
  const auto* q = reinterpret_cast<const __m128i*>(block);
  const __m128i a = _mm_loadu_si128(q);
  const __m128i b = _mm_loadu_si128(q + 1);
  const __m128i c = _mm_loadu_si128(q + 2);
  const __m128i d = _mm_loadu_si128(q + 3);
  cr = movemask64(a, b, c, d, _mm_set1_epi8('\r'));
  lf = movemask64(a, b, c, d, _mm_set1_epi8('\n'));
  dot = movemask64(a, b, c, d, _mm_set1_epi8('.'));
}

bool scan_blocks_sse2(const char* p, size_t n, DataScanState& state, size_t& i, DataScanResult& result) {
  return scan_blocks(p, n, state, masks_sse2, i, result);
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same with 32-byte compares where the CPU has AVX2: every body byte
// passes through here, and half the instructions per block is worth a
// runtime check. Compiled for AVX2 whatever the build's -march.
#define LISTGATE_SCAN_AVX2 1
__attribute__((target("avx2"))) inline uint64_t mask_avx2(__m256i lo, __m256i hi, char c) {
  const __m256i x = _mm256_set1_epi8(c);
  const uint64_t m0 = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, x)));
  const uint64_t m1 = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, x)));
  return m0 | (m1 << 32);
}

__attribute__((target("avx2"))) inline void masks_avx2(const char* block, uint64_t& cr, uint64_t& lf,
                                                        uint64_t& dot) {
  const auto* q = reinterpret_cast<const __m256i*>(block);
  const __m256i lo = _mm256_loadu_si256(q);
  const __m256i hi = _mm256_loadu_si256(q + 1);
  cr = mask_avx2(lo, hi, '\r');
  lf = mask_avx2(lo, hi, '\n');
  dot = mask_avx2(lo, hi, '.');
}

__attribute__((target("avx2"))) bool scan_blocks_avx2(const char* p, size_t n, DataScanState& state, size_t& i,
                                                      DataScanResult& result) {
  return scan_blocks(p, n, state, masks_avx2, i, result);
}

const bool kHaveAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();
#endif

#endif

}  // namespace

DataScanResult scan_data_scalar(std::string_view bytes, DataScanState& state) {
  return scan_tail(bytes.data(), bytes.size(), 0, state);
}

DataScanResult scan_data(std::string_view bytes, DataScanState& state) {
  const char* p = bytes.data();
  const size_t n = bytes.size();
#if defined(__SSE2__)
  if (n < kBlock) return scan_tail(p, n, 0, state);
  size_t i = 0;
  DataScanResult found;
#if defined(LISTGATE_SCAN_AVX2)
  const bool done = kHaveAvx2 ? scan_blocks_avx2(p, n, state, i, found) : scan_blocks_sse2(p, n, state, i, found);
#else
  const bool done = scan_blocks_sse2(p, n, state, i, found);
#endif
  if (done) return found;
  return scan_tail(p + i, n - i, i, state);
#else
  return scan_tail(p, n, 0, state);
#endif
}

}  // namespace listgate::lmtp

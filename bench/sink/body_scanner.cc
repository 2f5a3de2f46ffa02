// body_scanner.cc - the end-of-body search (see body_scanner.h).
#include "body_scanner.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace listgate::sink {
namespace {

constexpr size_t kTerminatorLen = 5;
constexpr size_t kDotPatternLen = 3;  // "\r\n."

inline bool dot_at(const char* p) { return p[0] == '\r' && p[1] == '\n' && p[2] == '.'; }
inline bool end_at(const char* p) { return dot_at(p) && p[3] == '\r' && p[4] == '\n'; }

}  // namespace

size_t find_body_end_scalar(const char* p, size_t n, uint64_t* dots) {
  uint64_t count = 0;
  for (size_t s = 0; s + kDotPatternLen <= n; ++s) {
    if (!dot_at(p + s)) continue;
    ++count;
    if (s + kTerminatorLen <= n && p[s + 3] == '\r' && p[s + 4] == '\n') {
      *dots += count;
      return s + kTerminatorLen;
    }
  }
  *dots += count;
  return 0;
}

size_t find_body_end(const char* p, size_t n, uint64_t* dots) {
  size_t i = 0;
#if defined(__SSE2__)
  constexpr size_t kLanes = 16;
  constexpr size_t kReach = kLanes + kTerminatorLen - 1;  // bytes one block reads
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i dot = _mm_set1_epi8('.');
  uint64_t count = 0;
  for (; i + kReach <= n; i += kLanes) {
    const char* q = p + i;
    const __m128i a = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)), cr);
    const __m128i b = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 1)), lf);
    const __m128i c = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 2)), dot);
    const __m128i d = _mm_and_si128(_mm_and_si128(a, b), c);
    const unsigned md = static_cast<unsigned>(_mm_movemask_epi8(d));
    if (md == 0) continue;
    const __m128i e = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 3)), cr);
    const __m128i f = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 4)), lf);
    const unsigned mt = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(d, _mm_and_si128(e, f))));
    if (mt != 0) {
      const int first = __builtin_ctz(mt);
      const unsigned upto = (2u << first) - 1;
      *dots += count + static_cast<uint64_t>(__builtin_popcount(md & upto));
      return i + static_cast<size_t>(first) + kTerminatorLen;
    }
    count += static_cast<uint64_t>(__builtin_popcount(md));
  }
  *dots += count;
#endif
  size_t end = find_body_end_scalar(p + i, n - i, dots);
  return end == 0 ? 0 : i + end;
}

void BodyScanner::reset() {
  carry_[0] = '\r';
  carry_[1] = '\n';
  carry_len_ = 2;
}

BodyScanner::Step BodyScanner::scan(std::string_view bytes) {
  Step step;
  const size_t n = bytes.size();
  if (n == 0) return step;
  const size_t k = carry_len_;

  // Patterns that start in the carry and end in this piece.
  char window[2 * kCarry];
  const size_t head = n < kCarry ? n : kCarry;
  std::memcpy(window, carry_, k);
  std::memcpy(window + k, bytes.data(), head);
  const size_t w = k + head;
  for (size_t s = 0; s < k && s + kDotPatternLen <= w; ++s) {
    if (!dot_at(window + s)) continue;
    if (s + kDotPatternLen > k) ++step.dots;  // else counted with the last piece
    if (s + kTerminatorLen <= w && window[s + 3] == '\r' && window[s + 4] == '\n') {
      step.consumed = s + kTerminatorLen - k;
      step.end = true;
      return step;
    }
  }

  // Patterns wholly inside this piece.
  const size_t end = find_body_end(bytes.data(), n, &step.dots);
  if (end != 0) {
    step.consumed = end;
    step.end = true;
    return step;
  }
  step.consumed = n;

  // The new carry: the last four bytes of everything so far.
  if (n >= kCarry) {
    std::memcpy(carry_, bytes.data() + n - kCarry, kCarry);
    carry_len_ = kCarry;
  } else {
    const size_t keep = (w < kCarry) ? w : kCarry;
    std::memmove(carry_, window + w - keep, keep);
    carry_len_ = keep;
  }
  return step;
}

}  // namespace listgate::sink

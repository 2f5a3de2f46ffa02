// smtp_commands.cc - command line formatting (see smtp_commands.h).
#include "smtp_commands.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace listgate::delivery::commands {
namespace {

constexpr std::string_view kCrLf = "\r\n";
constexpr std::string_view kRcptHead = "RCPT TO:<";
constexpr std::string_view kRcptTail = ">\r\n";
constexpr unsigned char kFirstPrintable = 0x20;
constexpr unsigned char kDelete = 0x7f;

// SWAR ("SIMD within a register", Bit Twiddling Hacks): eight bytes per step.
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;
// Filler for the last, partial word: a byte that no check flags.
constexpr uint64_t kHarmless = kOnes * 'a';

// A high bit set in some byte that is below n (0 < n <= 128); existence is exact.
constexpr uint64_t bytes_below(uint64_t x, uint8_t n) { return (x - kOnes * n) & ~x & kHighBits; }
// A high bit set in some byte equal to c; existence is exact.
constexpr uint64_t bytes_equal(uint64_t x, uint8_t c) { return bytes_below(x ^ (kOnes * c), 1); }

// Bytes no path may hold (control bytes, DEL, '<', '>'), and bytes >= 0x80.
struct WordFlags {
  uint64_t bad = 0;
  uint64_t high = 0;
  void add(uint64_t x) {
    // '<' (0x3c) and '>' (0x3e) differ in one bit: one test finds both.
    bad |= bytes_below(x, kFirstPrintable) | bytes_equal(x, kDelete) | bytes_equal(x | (kOnes * 0x02), '>');
    high |= x & kHighBits;
  }
};

uint64_t load_word(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

#if defined(__SSE2__)
// The same checks sixteen bytes at a time (SSE2 is part of x86-64).
struct VectorFlags {
  __m128i bad = _mm_setzero_si128();
  __m128i high = _mm_setzero_si128();
  void add(const char* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(kFirstPrintable - 1)), v);
    const __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(kDelete));
    const __m128i angle = _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(0x02)), _mm_set1_epi8('>'));
    bad = _mm_or_si128(bad, _mm_or_si128(control, _mm_or_si128(del, angle)));
    high = _mm_or_si128(high, v);
  }
};
#endif

}  // namespace

PathCheck check_path(std::string_view address) {
  constexpr size_t kWord = sizeof(uint64_t);
  const char* p = address.data();
  const size_t n = address.size();
#if defined(__SSE2__)
  constexpr size_t kVector = sizeof(__m128i);
  if (n >= kVector) {
    VectorFlags v;
    for (size_t i = 0; i + kVector <= n; i += kVector) v.add(p + i);
    if (n % kVector != 0) v.add(p + n - kVector);  // overlapping, as below
    return PathCheck{_mm_movemask_epi8(v.bad) == 0 && n <= kMaxPathLength, _mm_movemask_epi8(v.high) != 0};
  }
#endif
  WordFlags f;
  if (n >= kWord) {
    for (size_t i = 0; i + kWord <= n; i += kWord) f.add(load_word(p + i));
    // The last word overlaps the one before: looking at a byte twice is harmless.
    if (n % kWord != 0) f.add(load_word(p + n - kWord));
  } else if (n > 0) {
    // Built in a register: bytes stored one by one and loaded as a word
    // would stall on store forwarding.
    uint64_t x = kHarmless;
    for (size_t i = 0; i < n; ++i) x = (x << 8) | static_cast<unsigned char>(p[i]);
    f.add(x);
  }
  return PathCheck{f.bad == 0 && n <= kMaxPathLength, f.high != 0};
}

void append_line(std::string& out, std::string_view command) {
  out += command;
  out += kCrLf;
}

void append_hello(std::string& out, Protocol protocol, bool helo, std::string_view name) {
  out += protocol == Protocol::lmtp ? "LHLO " : (helo ? "HELO " : "EHLO ");
  out += name;
  out += kCrLf;
}

void append_mail(std::string& out, std::string_view sender, const MailParameters& p) {
  out += "MAIL FROM:<";
  out += sender;
  out += '>';
  if (p.size) {
    out += " SIZE=";
    out += std::to_string(p.size_value);
  }
  if (p.body_8bitmime) out += " BODY=8BITMIME";
  if (p.smtputf8) out += " SMTPUTF8";
  if (p.xverp) out += " XVERP";
  out += kCrLf;
}

void append_bdat_last(std::string& out, uint64_t size) {
  out += "BDAT ";
  out += std::to_string(size);
  out += " LAST";
  out += kCrLf;
}

void append_rcpt(std::string& out, std::string_view recipient) {
  out += kRcptHead;
  out += recipient;
  out += kRcptTail;
}

void append_rcpts(std::string& out, const std::vector<std::string_view>& recipients, std::span<const uint32_t> which) {
  // One growth, then plain copies: this runs once per member of a fan-out.
  size_t bytes = 0;
  for (uint32_t i : which) bytes += kRcptHead.size() + recipients[i].size() + kRcptTail.size();
  const size_t at = out.size();
  constexpr size_t kRoomForData = 16;  // the DATA line that ends the group: no second growth
  out.reserve(at + bytes + kRoomForData);
  out.resize(at + bytes);
  char* p = out.data() + at;
  for (uint32_t i : which) {
    const std::string_view r = recipients[i];
    std::memcpy(p, kRcptHead.data(), kRcptHead.size());
    p += kRcptHead.size();
    if (!r.empty()) std::memcpy(p, r.data(), r.size());
    p += r.size();
    std::memcpy(p, kRcptTail.data(), kRcptTail.size());
    p += kRcptTail.size();
  }
}

}  // namespace listgate::delivery::commands

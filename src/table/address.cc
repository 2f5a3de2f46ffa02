// address.cc - recipient normalisation and address syntax checks.
//
// parse_recipient() works on whole vectors: with SSE2 (every x86-64) 16
// bytes at a time, elsewhere 8 bytes at a time in a 64-bit integer (SWAR).
// One pass over the address as written finds its '@' signs, control
// characters and first VERP delimiter as bit masks, without a branch per
// byte, a library call or a store; the role suffix is then looked for in
// the last 12 bytes of the local part only (no suffix word is longer). The
// syntax validators run only at load time and are table-driven.
#include "listgate/table/address.h"

#include "listgate/table/bytes.h"

#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace listgate::table {

namespace {

using bytes::kEveryByte;
using bytes::kHighBits;
using bytes::kLow7Bits;
using bytes::lowercase_word;
using bytes::read64;
using bytes::read_partial;
using bytes::zero_bytes;

constexpr size_t kWord = sizeof(uint64_t);
constexpr int kByteShift = 3;  // bit index -> byte index in a SWAR mask
constexpr size_t kNotFound = ~size_t{0};
constexpr unsigned char kFirstPrintable = 0x21;  // '!': below it, controls and space
constexpr unsigned char kDelete = 0x7f;
constexpr unsigned char kCaseBit = 0x20;
constexpr size_t kLongestSuffix = 11;            // "unsubscribe"
constexpr size_t kMaxLocalPartLength = 64 * 4;  // generous: RFC 5321 says 64
constexpr size_t kMaxDomainLength = 255;
constexpr size_t kMaxLabelLength = 63;

// 0x80 in each byte that is an ASCII control character, a space or DEL.
uint64_t forbidden_bytes(uint64_t word) noexcept {
  const uint64_t low7 = word & kLow7Bits;
  const uint64_t below_printable =
      ~(low7 + kEveryByte * (0x80 - kFirstPrintable)) & ~word & kHighBits;
  return below_printable | zero_bytes(word ^ (kEveryByte * kDelete));
}

// Character classes for the load-time validators, one table lookup each.
enum CharClass : uint8_t {
  kAtext = 1 << 0,      // RFC 5322 atext (UTF-8 bytes allowed)
  kLabel = 1 << 1,      // a host name label character
  kDtext = 1 << 2,      // inside an address literal
  kQtext = 1 << 3,      // inside a quoted local part (besides escapes)
};

constexpr std::array<uint8_t, 256> kCharClasses = [] {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    const bool utf8 = c >= 0x80;
    if (alnum || utf8) table[c] |= kAtext | kLabel;
    if (c >= kFirstPrintable && c != kDelete && c != '[' && c != ']' && c != '\\') table[c] |= kDtext;
    if ((c >= ' ' || c == '\t') && c != kDelete && c != '"' && c != '\\') table[c] |= kQtext;
  }
  for (const char c : std::string_view("!#$%&'*+-/=?^_`{|}~")) table[static_cast<uint8_t>(c)] |= kAtext;
  table['-'] |= kLabel;
  table['_'] |= kLabel;
  return table;
}();

bool has_class(char c, CharClass cls) noexcept {
  return (kCharClasses[static_cast<uint8_t>(c)] & cls) != 0;
}

// RFC 5321 quoted-string: printable characters, with backslash escapes.
bool is_valid_quoted_local_part(std::string_view local) noexcept {
  if (local.size() < 2 || local.front() != '"' || local.back() != '"') return false;
  for (size_t i = 1; i + 1 < local.size(); ++i) {
    if (local[i] == '\\') {
      ++i;
      if (i + 1 >= local.size()) return false;  // the escape would eat the closing quote
      continue;
    }
    if (!has_class(local[i], kQtext)) return false;
  }
  return true;
}

// [192.0.2.1] or [IPv6:2001:db8::1]: dtext between brackets.
bool is_valid_address_literal(std::string_view domain) noexcept {
  if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') return false;
  for (size_t i = 1; i + 1 < domain.size(); ++i) {
    if (!has_class(domain[i], kDtext)) return false;
  }
  return true;
}

}  // namespace

void lowercase_ascii(char* bytes, size_t length) noexcept {
  size_t i = 0;
  for (; i + kWord <= length; i += kWord) {
    const uint64_t word = lowercase_word(read64(bytes + i));
    std::memcpy(bytes + i, &word, sizeof word);
  }
  for (; i < length; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 'A' && c <= 'Z') bytes[i] = static_cast<char>(c | kCaseBit);
  }
}

namespace {

// What the scan of an address found.
struct ScanResult {
  size_t at = kNotFound;  // the first '@'
  bool several_at_signs = false;
  bool forbidden = false;  // a control character, space or DEL
  size_t first_delimiter = kNotFound;
};

// Notes the '@' signs and delimiters of one chunk, given as masks with one
// set bit per matching byte: bit (k << index_shift) for the byte at offset
// + k (SSE2 masks have a bit per byte, SWAR masks the byte's top bit).
void note_marks(ScanResult& scan, size_t offset, uint64_t at_signs, uint64_t delimiters,
                int index_shift) noexcept {
  if (at_signs != 0) {
    scan.several_at_signs |= scan.at != kNotFound || (at_signs & (at_signs - 1)) != 0;
    if (scan.at == kNotFound) {
      scan.at = offset + (static_cast<size_t>(__builtin_ctzll(at_signs)) >> index_shift);
    }
  }
  if (delimiters != 0 && scan.first_delimiter == kNotFound) {
    scan.first_delimiter = offset + (static_cast<size_t>(__builtin_ctzll(delimiters)) >> index_shift);
  }
}

// Splits the address after its scan. find_last_dash(local_length) gives
// the last '-' among the last kLongestSuffix + 1 bytes of the local part,
// or kNotFound.
template <class FindLastDash>
ParsedRecipient split_scanned(std::string_view address, const ScanResult& scan,
                              FindLastDash find_last_dash) noexcept {
  const size_t length = address.size();
  if (scan.forbidden || scan.at == kNotFound || scan.several_at_signs) return {};
  if (scan.at == 0 || scan.at + 1 == length) return {};
  const size_t local_length = scan.first_delimiter < scan.at ? scan.first_delimiter : scan.at;
  const size_t dash = find_last_dash(local_length);
  std::optional<Suffix> suffix;
  if (dash != kNotFound && dash != 0) {  // a dash at 0 leaves an empty head: no role
    suffix = classify_suffix(address.substr(dash + 1, local_length - dash - 1));
  }
  return ParsedRecipient(scan.at + 1, length - scan.at - 1, local_length, suffix ? dash : 0, suffix);
}

}  // namespace

namespace detail {

ParsedRecipient parse_recipient_portable(std::string_view address, char verp_delimiter) noexcept {
  const size_t length = address.size();
  if (length == 0 || length > kMaxAddressLength) return {};
  const char* const source = address.data();
  const uint64_t at_pattern = kEveryByte * '@';
  const uint64_t delimiter_pattern = kEveryByte * static_cast<uint8_t>(verp_delimiter);
  ScanResult scan;
  uint64_t forbidden = 0;
  auto process = [&](uint64_t word, size_t offset, uint64_t inside) {
    forbidden |= forbidden_bytes(word) & inside;
    const uint64_t ats = zero_bytes(word ^ at_pattern) & inside;
    const uint64_t delimiters = zero_bytes(word ^ delimiter_pattern) & inside;
    if ((ats | delimiters) != 0) note_marks(scan, offset, ats, delimiters, kByteShift);
  };
  size_t i = 0;
  for (; i + kWord <= length; i += kWord) process(read64(source + i), i, ~uint64_t{0});
  if (i < length) {
    process(read_partial(source + i, length - i), i, (uint64_t{1} << (8 * (length - i))) - 1);
  }
  scan.forbidden = forbidden != 0;
  return split_scanned(address, scan, [source](size_t local_length) {
    const size_t lowest = local_length > kLongestSuffix + 1 ? local_length - kLongestSuffix - 1 : 0;
    for (size_t dash = local_length; dash-- > lowest;) {
      if (source[dash] == '-') return dash;
    }
    return kNotFound;
  });
}

#if defined(__SSE2__)

namespace {

constexpr size_t kVector = 16;
constexpr unsigned kFullVector = 0xffff;

// The first `count` (0..16) bytes at p as a vector, the rest zero, read
// without touching p[count].
[[gnu::always_inline]] inline __m128i load_partial_vector(const char* p, size_t count) noexcept {
  if (count >= kVector) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  uint64_t low;
  uint64_t high = 0;
  if (count >= kWord) {
    low = read64(p);
    if (count > kWord) high = read64(p + count - kWord) >> (8 * (2 * kWord - count));
  } else {
    low = read_partial(p, count);
  }
  return _mm_set_epi64x(static_cast<long long>(high), static_cast<long long>(low));
}

unsigned byte_mask(__m128i bytes_equal) noexcept {
  return static_cast<unsigned>(_mm_movemask_epi8(bytes_equal));
}

}  // namespace

ParsedRecipient parse_recipient_sse2(std::string_view address, char verp_delimiter) noexcept {
  const size_t length = address.size();
  if (length == 0 || length > kMaxAddressLength) return {};
  const char* const source = address.data();
  const __m128i at_sign = _mm_set1_epi8('@');
  const __m128i delimiter = _mm_set1_epi8(verp_delimiter);
  const __m128i first_printable = _mm_set1_epi8(static_cast<char>(kFirstPrintable));
  const __m128i delete_char = _mm_set1_epi8(static_cast<char>(kDelete));
  const __m128i minus_one = _mm_set1_epi8(-1);
  ScanResult scan;
  unsigned forbidden = 0;
  // Signed byte compares: bytes >= 0x80 (UTF-8) are negative, so they are
  // not control characters.
  auto process = [&](__m128i v, size_t offset, unsigned inside) {
    const __m128i control = _mm_or_si128(
        _mm_and_si128(_mm_cmplt_epi8(v, first_printable), _mm_cmpgt_epi8(v, minus_one)),
        _mm_cmpeq_epi8(v, delete_char));
    forbidden |= byte_mask(control) & inside;
    const unsigned ats = byte_mask(_mm_cmpeq_epi8(v, at_sign)) & inside;
    const unsigned delimiters = byte_mask(_mm_cmpeq_epi8(v, delimiter)) & inside;
    if ((ats | delimiters) != 0) note_marks(scan, offset, ats, delimiters, 0);
  };
  size_t i = 0;
  for (; i + kVector <= length; i += kVector) {
    process(_mm_loadu_si128(reinterpret_cast<const __m128i*>(source + i)), i, kFullVector);
  }
  if (i < length) {
    if (length >= kVector) {
      // The last 16 bytes, overlapping bytes already seen: mask those off.
      const size_t start = length - kVector;
      process(_mm_loadu_si128(reinterpret_cast<const __m128i*>(source + start)), start,
              kFullVector & ~((1u << (i - start)) - 1));
    } else {
      process(load_partial_vector(source, length), 0, (1u << length) - 1);
    }
  }
  scan.forbidden = forbidden != 0;
  return split_scanned(address, scan, [source](size_t local_length) {
    // The (up to) 16 bytes that end the local part.
    const size_t window = local_length >= kVector ? local_length - kVector : 0;
    const __m128i v = local_length >= kVector
                          ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(source + window))
                          : load_partial_vector(source, local_length);
    const unsigned dashes = byte_mask(_mm_cmpeq_epi8(v, _mm_set1_epi8('-'))) &
                            ((1u << (local_length - window)) - 1);
    if (dashes == 0) return kNotFound;
    const size_t dash = window + 31 - static_cast<size_t>(__builtin_clz(dashes));
    return local_length - dash <= kLongestSuffix + 1 ? dash : kNotFound;
  });
}

#endif  // __SSE2__

}  // namespace detail

ParsedRecipient parse_recipient(std::string_view address, char verp_delimiter) noexcept {
#if defined(__SSE2__)
  return detail::parse_recipient_sse2(address, verp_delimiter);
#else
  return detail::parse_recipient_portable(address, verp_delimiter);
#endif
}

std::string_view verp_tag(std::string_view address, char verp_delimiter) noexcept {
  const size_t at = address.find('@');
  if (at == std::string_view::npos) return {};
  const std::string_view local = address.substr(0, at);
  const size_t cut = local.find(verp_delimiter);
  if (cut == std::string_view::npos) return {};
  return local.substr(cut + 1);
}

bool is_valid_verp_delimiter(char delimiter) noexcept {
  const bool letter_or_digit = has_class(delimiter, kLabel) && delimiter != '-' && delimiter != '_';
  const bool ascii = static_cast<unsigned char>(delimiter) < 0x80;
  return ascii && (delimiter == '.' || (has_class(delimiter, kAtext) && !letter_or_digit));
}

bool is_valid_local_part(std::string_view local) noexcept {
  if (local.empty() || local.size() > kMaxLocalPartLength) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  char previous = 0;
  for (const char c : local) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!has_class(c, kAtext)) {
      return false;
    }
    previous = c;
  }
  return true;
}

bool is_valid_domain(std::string_view domain) noexcept {
  if (domain.empty() || domain.size() > kMaxDomainLength) return false;
  size_t label_length = 0;
  for (const char c : domain) {
    if (c == '.') {
      if (label_length == 0) return false;
      label_length = 0;
    } else if (has_class(c, kLabel)) {
      if (++label_length > kMaxLabelLength) return false;
    } else {
      return false;
    }
  }
  return label_length != 0;
}

bool is_valid_mailbox(std::string_view address) noexcept {
  if (address.size() > kMaxAddressLength) return false;
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  const bool local_ok = !local.empty() && local.front() == '"' ? is_valid_quoted_local_part(local)
                                                                : is_valid_local_part(local);
  if (!local_ok) return false;
  return !domain.empty() && domain.front() == '[' ? is_valid_address_literal(domain)
                                                  : is_valid_domain(domain);
}

}  // namespace listgate::table

// address.cc - recipient normalisation and address syntax checks.
//
// parse_recipient() works on whole 64-bit words (SWAR): lower-casing and the
// check for control characters cost a few instructions per eight bytes
// instead of a branch per byte. The syntax validators run only at load time
// and are written for clarity instead.
#include "listgate/table/address.h"

#include <array>
#include <cstring>

namespace listgate::table {

namespace {

constexpr uint64_t kEveryByte = 0x0101010101010101ull;
constexpr uint64_t kHighBits = 0x8080808080808080ull;
constexpr uint64_t kLow7Bits = 0x7f7f7f7f7f7f7f7full;
constexpr size_t kWord = sizeof(uint64_t);
constexpr size_t kNotFound = ~size_t{0};
constexpr unsigned char kFirstPrintable = 0x21;  // '!': below it, controls and space
constexpr unsigned char kDelete = 0x7f;
constexpr unsigned char kCaseBit = 0x20;
constexpr size_t kLongestSuffix = 11;            // "unsubscribe"
constexpr size_t kMaxLocalPartLength = 64 * 4;  // generous: RFC 5321 says 64
constexpr size_t kMaxDomainLength = 255;
constexpr size_t kMaxLabelLength = 63;

uint64_t load_word(const char* p) noexcept {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

void store_word(char* p, uint64_t word) noexcept { std::memcpy(p, &word, sizeof word); }

// The first `count` (< 8) bytes at p as a word, the rest zero.
uint64_t load_partial_word(const char* p, size_t count) noexcept {
  uint64_t word = 0;
  for (size_t k = 0; k < count; ++k) word |= uint64_t{static_cast<uint8_t>(p[k])} << (8 * k);
  return word;
}

// 0x80 in exactly the bytes of `word` that are zero (no borrow between
// bytes: the sum of two 7-bit values never carries out of its byte).
uint64_t zero_bytes(uint64_t word) noexcept {
  return ~(((word & kLow7Bits) + kLow7Bits) | word) & kHighBits;
}

// 0x80 in each byte that is an ASCII upper-case letter. The additions work
// on 7-bit values, so no byte carries into its neighbour.
uint64_t upper_case_bytes(uint64_t word) noexcept {
  const uint64_t low7 = word & kLow7Bits;
  const uint64_t above_z = low7 + kEveryByte * (0x7f - 'Z');
  const uint64_t from_a = low7 + kEveryByte * (0x80 - 'A');
  return (from_a ^ above_z) & ~word & kHighBits;
}

// 0x80 in each byte that is an ASCII control character, a space or DEL.
uint64_t forbidden_bytes(uint64_t word) noexcept {
  const uint64_t low7 = word & kLow7Bits;
  const uint64_t below_printable =
      ~(low7 + kEveryByte * (0x80 - kFirstPrintable)) & ~word & kHighBits;
  return below_printable | zero_bytes(word ^ (kEveryByte * kDelete));
}

uint64_t lowercase_word(uint64_t word) noexcept { return word | (upper_case_bytes(word) >> 2); }

size_t first_byte_index(uint64_t mask) noexcept {
  return static_cast<size_t>(__builtin_ctzll(mask)) / 8;
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
  for (; i + kWord <= length; i += kWord) store_word(bytes + i, lowercase_word(load_word(bytes + i)));
  for (; i < length; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 'A' && c <= 'Z') bytes[i] = static_cast<char>(c | kCaseBit);
  }
}

bool parse_recipient(std::string_view address, char verp_delimiter, RecipientBuffer& buffer,
                     ParsedRecipient& out) noexcept {
  const size_t length = address.size();
  if (length == 0 || length > kMaxAddressLength) return false;
  const char* const source = address.data();
  char* const bytes = buffer.bytes;
  const uint64_t at_signs = kEveryByte * '@';
  const uint64_t delimiters = kEveryByte * static_cast<uint8_t>(verp_delimiter);

  // One pass, a word at a time: copy and lower-case, and note control
  // characters, the '@' signs and the first delimiter.
  uint64_t forbidden = 0;
  size_t at = kNotFound;
  bool several_at_signs = false;
  size_t first_delimiter = kNotFound;
  auto scan = [&](uint64_t word, size_t offset, uint64_t inside) {
    forbidden |= forbidden_bytes(word) & inside;
    const uint64_t ats = zero_bytes(word ^ at_signs) & inside;
    if (ats != 0) {
      several_at_signs |= at != kNotFound || (ats & (ats - 1)) != 0;
      if (at == kNotFound) at = offset + first_byte_index(ats);
    }
    if (first_delimiter == kNotFound) {
      const uint64_t found = zero_bytes(word ^ delimiters) & inside;
      if (found != 0) first_delimiter = offset + first_byte_index(found);
    }
    store_word(bytes + offset, lowercase_word(word));
  };
  size_t i = 0;
  for (; i + kWord <= length; i += kWord) scan(load_word(source + i), i, ~uint64_t{0});
  if (i < length) {
    // The last, partial word is stored whole: RecipientBuffer has room.
    scan(load_partial_word(source + i, length - i), i, (uint64_t{1} << (8 * (length - i))) - 1);
  }
  if (forbidden != 0 || at == kNotFound || several_at_signs) return false;
  if (at == 0 || at + 1 == length) return false;
  out.domain = std::string_view(bytes + at + 1, length - at - 1);

  const size_t local_length = first_delimiter < at ? first_delimiter : at;
  out.local_length = static_cast<uint16_t>(local_length);
  out.head_length = 0;
  out.suffix.reset();
  // The last '-' matters only if a suffix word can follow it, so look back
  // no further than the longest suffix.
  const size_t lowest = local_length > kLongestSuffix + 1 ? local_length - kLongestSuffix - 1 : 0;
  for (size_t dash = local_length; dash-- > lowest;) {
    if (bytes[dash] != '-') continue;
    if (dash == 0) break;  // empty head: no role
    out.suffix = classify_suffix(std::string_view(bytes + dash + 1, local_length - dash - 1));
    if (out.suffix) out.head_length = static_cast<uint16_t>(dash);
    break;
  }
  return true;
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

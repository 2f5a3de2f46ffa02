// address.cc - recipient normalisation and address syntax checks.
//
// parse_recipient() works on whole 64-bit words (SWAR): lower-casing and the
// check for control characters cost a few instructions per eight bytes
// instead of a branch per byte. The syntax validators run only at load time
// and are written for clarity instead.
#include "listgate/table/address.h"

#include <cstring>

namespace listgate::table {

namespace {

constexpr uint64_t kEveryByte = 0x0101010101010101ull;
constexpr uint64_t kHighBits = 0x8080808080808080ull;
constexpr size_t kWord = sizeof(uint64_t);
constexpr unsigned char kFirstPrintable = 0x21;  // '!': below it, controls and space
constexpr unsigned char kDelete = 0x7f;
constexpr unsigned char kCaseBit = 0x20;
constexpr size_t kMaxLocalPartLength = 64 * 4;  // generous: RFC 5321 says 64
constexpr size_t kMaxDomainLength = 255;
constexpr size_t kMaxLabelLength = 63;

uint64_t load_word(const char* p) noexcept {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

void store_word(char* p, uint64_t word) noexcept { std::memcpy(p, &word, sizeof word); }

// 0x80 in each byte that is an ASCII upper-case letter. The additions work
// on 7-bit values, so no byte carries into its neighbour.
uint64_t upper_case_bytes(uint64_t word) noexcept {
  const uint64_t low7 = word & ~kHighBits;
  const uint64_t above_z = low7 + kEveryByte * (0x7f - 'Z');
  const uint64_t from_a = low7 + kEveryByte * (0x80 - 'A');
  return (from_a ^ above_z) & ~word & kHighBits;
}

// Non-zero when some byte is an ASCII control character, a space or DEL.
uint64_t forbidden_bytes(uint64_t word) noexcept {
  const uint64_t low7 = word & ~kHighBits;
  const uint64_t below_printable =
      ~(low7 + kEveryByte * (0x80 - kFirstPrintable)) & ~word & kHighBits;
  const uint64_t delete_xor = word ^ (kEveryByte * kDelete);
  const uint64_t deletes = (delete_xor - kEveryByte) & ~delete_xor & kHighBits;
  return below_printable | deletes;
}

uint64_t lowercase_word(uint64_t word) noexcept { return word | (upper_case_bytes(word) >> 2); }

bool is_ascii_alnum(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_utf8_byte(unsigned char c) noexcept { return c >= 0x80; }

bool is_atext_special(unsigned char c) noexcept {
  return c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

bool is_atext(unsigned char c) noexcept {
  return is_ascii_alnum(c) || is_utf8_byte(c) || is_atext_special(c);
}

bool is_label_char(unsigned char c) noexcept {
  return is_ascii_alnum(c) || is_utf8_byte(c) || c == '-' || c == '_';
}

// RFC 5321 quoted-string: printable characters, with backslash escapes.
bool is_valid_quoted_local_part(std::string_view local) noexcept {
  if (local.size() < 2 || local.front() != '"' || local.back() != '"') return false;
  for (size_t i = 1; i + 1 < local.size(); ++i) {
    const auto c = static_cast<unsigned char>(local[i]);
    if (c == '\\') {
      ++i;
      if (i + 1 >= local.size()) return false;  // the escape would eat the closing quote
      continue;
    }
    if (c == '"' || (c < ' ' && c != '\t') || c == kDelete) return false;
  }
  return true;
}

// [192.0.2.1] or [IPv6:2001:db8::1]: dtext between brackets.
bool is_valid_address_literal(std::string_view domain) noexcept {
  if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') return false;
  for (size_t i = 1; i + 1 < domain.size(); ++i) {
    const auto c = static_cast<unsigned char>(domain[i]);
    if (c < kFirstPrintable || c == kDelete || c == '[' || c == ']' || c == '\\') return false;
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
  char* const bytes = buffer.bytes;
  std::memcpy(bytes, address.data(), length);
  std::memset(bytes + length, 0, RecipientBuffer::kScanPadding);

  uint64_t forbidden = 0;
  size_t i = 0;
  for (; i + kWord <= length; i += kWord) {
    const uint64_t word = load_word(bytes + i);
    forbidden |= forbidden_bytes(word);
    store_word(bytes + i, lowercase_word(word));
  }
  if (i < length) {
    // The last, partial word: the zero padding beyond the address must not
    // count as control characters.
    const uint64_t word = load_word(bytes + i);
    const uint64_t inside = (uint64_t{1} << (8 * (length - i))) - 1;
    forbidden |= forbidden_bytes(word) & inside;
    store_word(bytes + i, lowercase_word(word));
  }
  if (forbidden != 0) return false;

  const auto* at = static_cast<const char*>(std::memchr(bytes, '@', length));
  if (at == nullptr) return false;
  const size_t at_index = static_cast<size_t>(at - bytes);
  const size_t domain_length = length - at_index - 1;
  if (at_index == 0 || domain_length == 0) return false;
  if (std::memchr(at + 1, '@', domain_length) != nullptr) return false;
  out.domain = std::string_view(at + 1, domain_length);

  const auto* cut = static_cast<const char*>(std::memchr(bytes, verp_delimiter, at_index));
  const size_t local_length = cut != nullptr ? static_cast<size_t>(cut - bytes) : at_index;
  out.local_length = static_cast<uint16_t>(local_length);
  out.suffix.reset();
  out.head_length = 0;
  const auto* dash = static_cast<const char*>(memrchr(bytes, '-', local_length));
  if (dash != nullptr && dash != bytes) {
    const size_t head_length = static_cast<size_t>(dash - bytes);
    out.suffix = classify_suffix(std::string_view(dash + 1, local_length - head_length - 1));
    if (out.suffix) out.head_length = static_cast<uint16_t>(head_length);
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
  const auto c = static_cast<unsigned char>(delimiter);
  return is_atext_special(c) || c == '.';
}

bool is_valid_local_part(std::string_view local) noexcept {
  if (local.empty() || local.size() > kMaxLocalPartLength) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  char previous = 0;
  for (const char ch : local) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
    previous = ch;
  }
  return true;
}

bool is_valid_domain(std::string_view domain) noexcept {
  if (domain.empty() || domain.size() > kMaxDomainLength) return false;
  size_t label_length = 0;
  for (const char ch : domain) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (label_length == 0) return false;
      label_length = 0;
    } else if (is_label_char(c)) {
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

// address.h - recipient normalisation (DESIGN.md section 2) and address syntax.
//
// parse_recipient() is on the RCPT path: it neither allocates nor copies.
// It reads the address 16 bytes at a time and finds the '@', the VERP cut
// and the role suffix; the lookups then fold case as they hash and compare
// (see FoldedKey in hash.h), so no lower-cased copy is ever made. The
// validators are for the loader, which is stricter than the lookup: the
// lookup only needs to refuse what can never name a list, the loader
// refuses what is not an address at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "listgate/table/subaddress.h"

namespace listgate::table {

// RFC 5321 allows a 64-octet local part and a 255-octet domain; anything
// longer than this cannot be a list address and is refused unread.
inline constexpr size_t kMaxAddressLength = 320;

inline constexpr char kDefaultVerpDelimiter = '+';

// An address as split_recipient() sees it: where its parts are in the
// address as written (nothing is copied or lower-cased; lookups fold case
// as they read). Packed into one 64-bit word so that it is built and
// returned in a register: a struct of narrow fields is written to the
// stack field by field and read back whole, which stalls the CPU (a store
// to load forwarding failure) on every call.
class ParsedRecipient {
 public:
  ParsedRecipient() = default;  // not ok
  ParsedRecipient(size_t domain_offset, size_t domain_length, size_t local_length,
                  size_t head_length, std::optional<Suffix> suffix) noexcept
      : bits_(uint64_t{domain_offset} | (uint64_t{domain_length} << kFieldBits) |
              (uint64_t{local_length} << (2 * kFieldBits)) |
              (uint64_t{head_length} << (3 * kFieldBits)) |
              (uint64_t{suffix ? static_cast<uint64_t>(*suffix) + 1 : 0} << kSuffixShift) |
              kOkBit) {}

  // false: not local@domain (see parse_recipient); nothing else is set.
  bool ok() const noexcept { return (bits_ & kOkBit) != 0; }
  size_t domain_offset() const noexcept { return field(0); }
  size_t domain_length() const noexcept { return field(1); }
  // The local part cut at the VERP delimiter.
  size_t local_length() const noexcept { return field(2); }
  // The part before the last '-', when suffix() is set.
  size_t head_length() const noexcept { return field(3); }
  // Set only when the head is not empty.
  std::optional<Suffix> suffix() const noexcept {
    const auto code = static_cast<int>((bits_ >> kSuffixShift) & kSuffixMask);
    if (code == 0) return std::nullopt;
    return static_cast<Suffix>(code - 1);
  }

  std::string_view local(std::string_view address) const noexcept {
    return address.substr(0, local_length());
  }
  std::string_view domain(std::string_view address) const noexcept {
    return address.substr(domain_offset(), domain_length());
  }

 private:
  static constexpr int kFieldBits = 10;  // offsets and lengths up to 1023
  static constexpr uint64_t kFieldMask = (uint64_t{1} << kFieldBits) - 1;
  static constexpr int kSuffixShift = 4 * kFieldBits;
  static constexpr uint64_t kSuffixMask = 0xf;  // the suffix + 1; 0 for none
  static constexpr uint64_t kOkBit = uint64_t{1} << (kSuffixShift + 4);
  static_assert(kMaxAddressLength <= kFieldMask, "offsets must fit their fields");
  static_assert(kSuffixCount < kSuffixMask, "suffixes must fit their field");

  size_t field(int index) const noexcept { return (bits_ >> (index * kFieldBits)) & kFieldMask; }

  uint64_t bits_ = 0;
};

// Splits `address` (any case). Not ok for what is not local@domain: empty,
// longer than kMaxAddressLength, no '@' or more than one, empty local part
// or domain, a control character or a space. `verp_delimiter` must satisfy
// is_valid_verp_delimiter().
ParsedRecipient parse_recipient(std::string_view address, char verp_delimiter) noexcept;

namespace detail {
// The two implementations behind parse_recipient(), both always built so
// tests can hold them to the same answers: 16 bytes at a time with SSE2
// (x86-64's baseline), and 8 bytes at a time in plain integers elsewhere.
ParsedRecipient parse_recipient_portable(std::string_view address, char verp_delimiter) noexcept;
#if defined(__SSE2__)
ParsedRecipient parse_recipient_sse2(std::string_view address, char verp_delimiter) noexcept;
#endif
}  // namespace detail

// The tag after the VERP delimiter in the local part, as written (case
// kept): "alice=example.org" for "list-bounces+alice=example.org@dom", the
// token of "list-confirm+TOKEN@dom". Empty when there is none.
std::string_view verp_tag(std::string_view address, char verp_delimiter) noexcept;

// Characters that may serve as the VERP delimiter: the specials of RFC 5322
// atext (never a letter or digit, which would clash with list names, and
// never '@').
bool is_valid_verp_delimiter(char delimiter) noexcept;

// A dot-atom local part: atext characters (UTF-8 allowed) and single dots.
bool is_valid_local_part(std::string_view local) noexcept;

// A host name: dot-separated labels of letters, digits, '-' and '_' (UTF-8
// allowed), each 1..63 octets, 255 octets in all.
bool is_valid_domain(std::string_view domain) noexcept;

// local@domain where the local part is a dot-atom or a quoted string and the
// domain a host name or an address literal ([192.0.2.1], [IPv6:...]).
bool is_valid_mailbox(std::string_view address) noexcept;

// ASCII lower-casing (as address comparison needs; UTF-8 bytes pass as is).
void lowercase_ascii(char* bytes, size_t length) noexcept;

}  // namespace listgate::table

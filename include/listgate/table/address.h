// address.h - recipient normalisation (DESIGN.md section 2) and address syntax.
//
// parse_recipient() is on the RCPT path, so it allocates nothing: it copies
// the address into a caller's stack buffer, lower-cases it eight bytes at a
// time and finds the '@', the VERP cut and the role suffix in that copy. The
// validators are for the loader, which is stricter than the lookup: the
// lookup only needs to refuse what can never name a list, the loader refuses
// what is not an address at all.
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

// Room for the address, the 4-byte domain id a list key carries after the
// local part, and a word of padding for the 8-byte-wide scan.
struct RecipientBuffer {
  static constexpr size_t kKeyTail = 4;
  static constexpr size_t kScanPadding = 8;
  alignas(8) char bytes[kMaxAddressLength + kKeyTail + kScanPadding];
};

// An address as split_recipient() sees it. Views point into the buffer.
struct ParsedRecipient {
  std::string_view domain;        // lower-cased
  uint16_t local_length = 0;      // the local part cut at the VERP delimiter
  uint16_t head_length = 0;       // the part before the last '-', when suffix is set
  std::optional<Suffix> suffix;   // set only when the head is not empty
};

// Lower-cases `address` into `buffer` and splits it. False for what is not
// local@domain: empty, longer than kMaxAddressLength, no '@' or more than
// one, empty local part or domain, a control character or a space.
bool parse_recipient(std::string_view address, char verp_delimiter, RecipientBuffer& buffer,
                     ParsedRecipient& out) noexcept;

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

// subaddress.h - the role suffixes of Mailman's split_recipient.
//
// `list-bounces`, `list-owner`, ... name a role of `list`. There are eight
// suffix words but seven roles (subscribe folds into join, unsubscribe into
// leave). The word itself is kept apart from the role because the table
// records, per list, which `list-WORD` names are lists of their own (and so
// win over the role); `list-join` and `list-subscribe` are different names.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "listgate/table/bytes.h"
#include "listgate/table/resolution.h"

namespace listgate::table {

enum class Suffix : uint8_t { bounces, confirm, join, leave, owner, request, subscribe, unsubscribe };

inline constexpr int kSuffixCount = 8;

// The suffix named by `word`, in any case, if it is one. Inline: it is on
// the RCPT path. It dispatches on the length and compares whole words:
// every suffix word is letters only, and for a letter c, (x | 0x20) == c
// exactly when x is c in either case, so OR-ing the case bits folds case
// without a branch.
inline std::optional<Suffix> classify_suffix(std::string_view word) noexcept {
  using bytes::kCaseBits;
  using bytes::pack;
  using bytes::read32;
  using bytes::read64;
  const char* p = word.data();
  auto folded_half = [p](size_t at) { return read32(p + at) | (kCaseBits & 0xffffffffu); };
  auto folded_byte = [p](size_t at) { return static_cast<uint8_t>(p[at] | 0x20); };
  switch (word.size()) {
    case 4:
      if (folded_half(0) == pack("join", 4)) return Suffix::join;
      break;
    case 5: {
      const uint64_t head = folded_half(0);
      const uint8_t last = folded_byte(4);
      if (head == pack("owne", 4) && last == 'r') return Suffix::owner;
      if (head == pack("leav", 4) && last == 'e') return Suffix::leave;
      break;
    }
    case 7: {
      const uint64_t head = folded_half(0);
      const uint64_t tail = folded_half(3);
      if (head == pack("boun", 4) && tail == pack("nces", 4)) return Suffix::bounces;
      if (head == pack("requ", 4) && tail == pack("uest", 4)) return Suffix::request;
      if (head == pack("conf", 4) && tail == pack("firm", 4)) return Suffix::confirm;
      break;
    }
    case 9:
      if ((read64(p) | kCaseBits) == pack("subscrib") && folded_byte(8) == 'e') {
        return Suffix::subscribe;
      }
      break;
    case 11:
      if ((read64(p) | kCaseBits) == pack("unsubscr") && folded_half(7) == pack("ribe", 4)) {
        return Suffix::unsubscribe;
      }
      break;
    default:
      break;
  }
  return std::nullopt;
}

std::string_view suffix_name(Suffix suffix) noexcept;

constexpr Role role_of(Suffix suffix) noexcept {
  switch (suffix) {
    case Suffix::bounces: return Role::bounces;
    case Suffix::confirm: return Role::confirm;
    case Suffix::join: return Role::join;
    case Suffix::leave: return Role::leave;
    case Suffix::owner: return Role::owner;
    case Suffix::request: return Role::request;
    case Suffix::subscribe: return Role::join;
    case Suffix::unsubscribe: return Role::leave;
  }
  return Role::posting;
}

// request, join, leave and confirm are answered by a list manager: listgate
// has none, so these addresses exist only for lists with a backend.
constexpr bool role_needs_backend(Role role) noexcept {
  return role == Role::request || role == Role::join || role == Role::leave ||
         role == Role::confirm;
}

}  // namespace listgate::table

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

#include "listgate/table/resolution.h"

namespace listgate::table {

enum class Suffix : uint8_t { bounces, confirm, join, leave, owner, request, subscribe, unsubscribe };

inline constexpr int kSuffixCount = 8;

// The suffix named by `word` (already lower-case), if it is one. Inline:
// it is on the RCPT path. Dispatches on the length first, so a word that is
// no suffix costs one compare in most cases.
inline std::optional<Suffix> classify_suffix(std::string_view word) noexcept {
  switch (word.size()) {
    case 4:
      if (word == "join") return Suffix::join;
      break;
    case 5:
      if (word == "owner") return Suffix::owner;
      if (word == "leave") return Suffix::leave;
      break;
    case 7:
      if (word == "bounces") return Suffix::bounces;
      if (word == "request") return Suffix::request;
      if (word == "confirm") return Suffix::confirm;
      break;
    case 9:
      if (word == "subscribe") return Suffix::subscribe;
      break;
    case 11:
      if (word == "unsubscribe") return Suffix::unsubscribe;
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

// mailman_addresses.h - the addresses Mailman 3 writes for a list, and which
// of them listgate answers.
//
// Mailman's MailTransportAgentAliases yields the posting address and then
// `list-SUFFIX` for its eight suffixes in sorted order; its map files are
// laid out from all nine (the column width comes from the longest). listgate
// writes the lines of only the addresses it accepts (DESIGN.md section 1):
// `-confirm`, `-join`, `-leave`, `-request`, `-subscribe` and `-unsubscribe`
// need a list manager, so they exist only for lists with a `backend`.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "listgate/table/subaddress.h"

namespace listgate::mta {

// Mailman's SUBDESTINATIONS, sorted as Mailman sorts them (the Suffix enum
// is in that order already).
inline constexpr std::array<table::Suffix, table::kSuffixCount> kMailmanSuffixes = {
    table::Suffix::bounces, table::Suffix::confirm, table::Suffix::join,      table::Suffix::leave,
    table::Suffix::owner,   table::Suffix::request, table::Suffix::subscribe, table::Suffix::unsubscribe,
};

// Whether listgate answers `list-SUFFIX` of a list with or without a backend.
constexpr bool listgate_accepts(table::Suffix suffix, bool has_backend) noexcept {
  return has_backend || !table::role_needs_backend(table::role_of(suffix));
}

// One of a list's addresses: the local part (`list` or `list-SUFFIX`) and
// whether listgate answers it.
struct ListAddress {
  std::string local;
  bool accepted = true;
};

// The nine local parts in Mailman's order: the list's, then `list-SUFFIX`.
std::array<ListAddress, 1 + table::kSuffixCount> mailman_local_parts(std::string_view list_local,
                                                                     bool has_backend);

}  // namespace listgate::mta

// recipients.h - the addresses a load run sends to.
//
// Known addresses are the posting addresses of a list table's lists (or the
// ones given with --to). Unknown addresses are lists that do not exist in
// a domain that does (`no-such-list-N@DOMAIN`), which listgate must refuse
// with 550 5.1.1 at RCPT time; with a table they are checked against it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/result.h"

namespace listgate::loadbench {

struct Recipients {
  std::vector<std::string> known;
  std::vector<std::string> unknown;
};

// How many distinct unknown addresses are made.
inline constexpr size_t kUnknownAddresses = 64;

// The posting address of every list in the table file, and unknown ones
// in the table's domains.
Result<Recipients> recipients_from_table(const std::string& path);
// `addresses` as given; unknown ones in their domains.
Result<Recipients> recipients_from_list(const std::vector<std::string>& addresses);

// Splits "a,b,c" (empty items are an error); checks each is local@domain.
Result<std::vector<std::string>> parse_address_list(std::string_view text);

}  // namespace listgate::loadbench

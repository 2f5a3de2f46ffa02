// mailman_addresses.cc - a list's nine local parts in Mailman's order.
#include "listgate/mta/mailman_addresses.h"

#include "listgate/base/concat.h"

namespace listgate::mta {

std::array<ListAddress, 1 + table::kSuffixCount> mailman_local_parts(std::string_view list_local,
                                                                     bool has_backend) {
  std::array<ListAddress, 1 + table::kSuffixCount> parts;
  parts[0] = {std::string(list_local), true};
  for (size_t i = 0; i < kMailmanSuffixes.size(); ++i) {
    const table::Suffix suffix = kMailmanSuffixes[i];
    parts[i + 1] = {concat({list_local, "-", table::suffix_name(suffix)}), listgate_accepts(suffix, has_backend)};
  }
  return parts;
}

}  // namespace listgate::mta

// subaddress.cc - the names of the role suffix words.
#include "listgate/table/subaddress.h"

namespace listgate::table {

namespace {

constexpr std::string_view kSuffixNames[kSuffixCount] = {
    "bounces", "confirm", "join", "leave", "owner", "request", "subscribe", "unsubscribe",
};

}  // namespace

std::string_view suffix_name(Suffix suffix) noexcept {
  return kSuffixNames[static_cast<int>(suffix)];
}

}  // namespace listgate::table

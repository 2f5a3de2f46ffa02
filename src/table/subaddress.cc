// subaddress.cc - recognising the role suffix words.
//
// Dispatches on the length first, so a local part whose last word is not a
// suffix costs one compare in most cases.
#include "listgate/table/subaddress.h"

namespace listgate::table {

namespace {

constexpr std::string_view kSuffixNames[kSuffixCount] = {
    "bounces", "confirm", "join", "leave", "owner", "request", "subscribe", "unsubscribe",
};

}  // namespace

std::optional<Suffix> classify_suffix(std::string_view word) noexcept {
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

std::string_view suffix_name(Suffix suffix) noexcept {
  return kSuffixNames[static_cast<int>(suffix)];
}

}  // namespace listgate::table

// concat.h - joining pieces of text for messages and replies.
//
// One reserve and appends: cheaper than chained operator+, and it sidesteps
// GCC 12's false -Wrestrict warning on `"literal" + std::string(...)`.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace listgate {

inline std::string concat(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  std::string out;
  out.reserve(size);
  for (std::string_view p : parts) out.append(p);
  return out;
}

}  // namespace listgate

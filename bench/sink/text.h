// text.h - joining text for error messages and replies.
//
// concat() exists because `"literal" + std::string(...)` trips GCC 12's
// -Wrestrict false positive; one reserve and appends is also cheaper.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace listgate::sink {

inline std::string concat(std::initializer_list<std::string_view> parts) {
  size_t n = 0;
  for (std::string_view p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (std::string_view p : parts) out.append(p);
  return out;
}

}  // namespace listgate::sink

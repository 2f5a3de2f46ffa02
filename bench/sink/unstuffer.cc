// unstuffer.cc - dot-unstuffing copy (see unstuffer.h).
#include "unstuffer.h"

#include <cstring>

namespace listgate::sink {

void Unstuffer::append(std::string& out, std::string_view in) {
  const char* p = in.data();
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    if (line_start_) {
      line_start_ = false;
      if (p[i] == '.') {
        ++i;
        prev_cr_ = false;
        continue;
      }
    }
    const void* hit = std::memchr(p + i, '\n', n - i);
    if (hit == nullptr) {
      out.append(p + i, n - i);
      prev_cr_ = p[n - 1] == '\r';
      return;
    }
    const size_t nl = static_cast<size_t>(static_cast<const char*>(hit) - p);
    line_start_ = nl > i ? p[nl - 1] == '\r' : prev_cr_;
    out.append(p + i, nl + 1 - i);
    prev_cr_ = false;
    i = nl + 1;
  }
}

}  // namespace listgate::sink

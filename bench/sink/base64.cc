// base64.cc - see base64.h.
#include "base64.h"

#include <cstdint>

namespace listgate::sink {
namespace {

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

constexpr size_t kQuantum = 4;

}  // namespace

bool decode_base64(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % kQuantum != 0) return false;
  for (size_t i = 0; i < in.size(); i += kQuantum) {
    const bool last = i + kQuantum == in.size();
    int pad = 0;
    if (last && in[i + 3] == '=') pad = (in[i + 2] == '=') ? 2 : 1;
    uint32_t bits = 0;
    for (size_t k = 0; k < kQuantum; ++k) {
      int v = 0;
      if (k < kQuantum - static_cast<size_t>(pad)) {
        v = value_of(in[i + k]);
        if (v < 0) return false;
      }
      bits = (bits << 6) | static_cast<uint32_t>(v);
    }
    out.push_back(static_cast<char>((bits >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(bits & 0xff));
  }
  return true;
}

}  // namespace listgate::sink

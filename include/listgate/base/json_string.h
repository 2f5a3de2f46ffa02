// json_string.h - a JSON string literal from arbitrary bytes.
//
// Shared by the bounce log and listgate-bench's reports. Control characters
// are escaped; bytes that are not well-formed UTF-8 become U+FFFD, so the
// output is always valid JSON whatever an upstream or a log line held.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace listgate {

// Length of the well-formed UTF-8 sequence at s[i] (Unicode table 3-7), or 0
// with `bad` set to the bytes one U+FFFD replaces: the longest prefix of a
// sequence that could have been valid, at least one byte.
inline size_t utf8_sequence(std::string_view s, size_t i, size_t& bad) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  size_t more = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    more = 1;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    more = 2;
    if (lead == 0xe0) lo = 0xa0;  // overlong
    if (lead == 0xed) hi = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    more = 3;
    if (lead == 0xf0) lo = 0x90;  // overlong
    if (lead == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    bad = 1;
    return 0;
  }
  size_t n = 1;
  while (n <= more && i + n < s.size() && byte(i + n) >= lo && byte(i + n) <= hi) {
    lo = 0x80;
    hi = 0xbf;
    ++n;
  }
  if (n > more) return n;
  bad = n;
  return 0;
}

inline void append_json_string(std::string& out, std::string_view s) {
  constexpr std::string_view kHex = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t bad = 0;
      const size_t n = utf8_sequence(s, i, bad);
      if (n > 0) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        out += "\xef\xbf\xbd";  // U+FFFD
        i += bad;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace listgate

// dialogue_text.h - reading dialogue files and decoding their escapes
// (tests/dialogues/README.md), shared by the LMTP and SMTP dialogue runners.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace listgate::test_support {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes escapes in one line's text. Sets `join` when the line ends with a
// lone backslash (no CRLF to add). Returns false on a bad escape.
inline bool decode(std::string_view text, std::string& out, bool& join) {
  join = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 1 == text.size()) {
      join = true;
      return true;
    }
    const char e = text[++i];
    switch (e) {
      case 'r': out += '\r'; break;
      case 'n': out += '\n'; break;
      case '\\': out += '\\'; break;
      case 'x': {
        if (i + 2 >= text.size()) return false;
        const int hi = hex_digit(text[i + 1]);
        const int lo = hex_digit(text[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      case '{': {
        const size_t close = text.find('}', i);
        if (close == std::string_view::npos) return false;
        const std::string_view inner = text.substr(i + 1, close - i - 1);
        const size_t star = inner.rfind('*');
        if (star == std::string_view::npos) return false;
        std::string unit;
        bool inner_join = false;
        if (!decode(inner.substr(0, star), unit, inner_join) || inner_join) return false;
        const std::string_view digits = inner.substr(star + 1);
        if (digits.empty()) return false;
        size_t count = 0;
        for (char d : digits) {
          if (d < '0' || d > '9') return false;
          count = count * 10 + static_cast<size_t>(d - '0');
        }
        for (size_t k = 0; k < count; ++k) out += unit;
        i = close;
        break;
      }
      default: return false;
    }
  }
  return true;
}

}  // namespace listgate::test_support

// json_error_position.cc - scalar scans that locate simdjson's first-pass errors.
#include "json_error_position.h"

#include <cstdint>
#include <vector>

namespace listgate::table {

size_t first_invalid_utf8(std::string_view text) noexcept {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t size = text.size();
  size_t i = 0;
  while (i < size) {
    const unsigned char lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned char low = 0x80;  // the allowed range of the second byte
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;   // no overlong forms
      if (lead == 0xed) high = 0x9f;  // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;   // no overlong forms
      if (lead == 0xf4) high = 0x8f;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + length > size) return i;
    if (bytes[i + 1] < low || bytes[i + 1] > high) return i;
    for (size_t k = 2; k < length; ++k) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return i;
    }
    i += length;
  }
  return size;
}

size_t unclosed_string_start(std::string_view text) noexcept {
  bool in_string = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_string) {
      if (c == '"') {
        in_string = true;
        start = i;
      }
    } else if (c == '\\') {
      ++i;  // the escaped character, whatever it is
    } else if (c == '"') {
      in_string = false;
    }
  }
  return in_string ? start : text.size();
}

size_t unbalanced_bracket(std::string_view text) noexcept {
  std::vector<size_t> open;  // offsets of the brackets not yet closed
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        open.push_back(i);
        break;
      case '}':
      case ']': {
        const char expected_opener = c == '}' ? '{' : '[';
        if (open.empty() || text[open.back()] != expected_opener) return i;
        open.pop_back();
        break;
      }
      default:
        break;
    }
  }
  return open.empty() ? text.size() : open.back();
}

size_t trailing_text_start(std::string_view text) noexcept {
  size_t depth = 0;
  bool in_string = false;
  bool started = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (started && depth == 0) {
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return i;
      continue;
    }
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
      started = true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return text.size();
}

}  // namespace listgate::table

// json_error_position.h - where in the text simdjson's whole-text checks failed.
//
// simdjson's first pass checks UTF-8, string termination and bracket
// balance for the whole text at once and says only that something is
// wrong. These scalar scans run after such a failure to find the byte to
// point the user at; they never run on a good table.
#pragma once

#include <cstddef>
#include <string_view>

namespace listgate::table {

// Offset of the first byte that starts an invalid UTF-8 sequence, or
// text.size() when the text is valid.
size_t first_invalid_utf8(std::string_view text) noexcept;

// Offset of the opening quote of a JSON string that is never closed, or
// text.size() when every string is closed.
size_t unclosed_string_start(std::string_view text) noexcept;

// Offset of the first closing bracket that does not match, else of the
// innermost bracket left open at the end, else text.size(). Brackets
// inside strings do not count.
size_t unbalanced_bracket(std::string_view text) noexcept;

// Offset of the first non-blank byte after the bracketed value the text
// starts with, or text.size() when there is none.
size_t trailing_text_start(std::string_view text) noexcept;

}  // namespace listgate::table

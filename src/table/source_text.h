// source_text.h - turning byte offsets in the table file into FILE:LINE:COL.
//
// The loader remembers only byte offsets while it reads (a pointer
// subtraction); lines and columns are counted when an error is reported,
// which is the only time they are needed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "listgate/base/result.h"

namespace listgate::table {

// `text` in double quotes, for naming a value in a message.
std::string quoted(std::string_view text);

class SourceText {
 public:
  struct Position {
    size_t line = 1;    // 1-based
    size_t column = 1;  // 1-based, in bytes
  };

  SourceText(std::string_view name, std::string_view text) : name_(name), text_(text) {}

  std::string_view name() const noexcept { return name_; }
  Position position_of(size_t offset) const noexcept;
  // "LINE:COL"
  std::string line_and_column(size_t offset) const;
  // "NAME:LINE:COL: what"
  Error error_at(size_t offset, std::string_view what) const;

 private:
  std::string_view name_;
  std::string_view text_;
};

}  // namespace listgate::table

// source_text.cc - line and column of a byte offset, counted on demand.
#include "source_text.h"

#include <algorithm>

namespace listgate::table {

std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

SourceText::Position SourceText::position_of(size_t offset) const noexcept {
  offset = std::min(offset, text_.size());
  const std::string_view before = text_.substr(0, offset);
  Position position;
  position.line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  const size_t line_start = before.rfind('\n');
  position.column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
  return position;
}

std::string SourceText::line_and_column(size_t offset) const {
  const Position position = position_of(offset);
  return std::to_string(position.line) + ":" + std::to_string(position.column);
}

Error SourceText::error_at(size_t offset, std::string_view what) const {
  std::string message(name_);
  message += ':';
  message += line_and_column(offset);
  message += ": ";
  message += what;
  return make_error(std::move(message));
}

}  // namespace listgate::table

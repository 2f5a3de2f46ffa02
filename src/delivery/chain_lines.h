// chain_lines.h - lines and header fields of a body in wire form, read in place.
//
// Private to src/delivery (message_headers.cc, bounce_log.cc). A line that
// lies inside one slice is returned as a view into that slice; only a line
// spanning slices is assembled in a scratch string, so reading the header
// section of a large body costs no copy of the body.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "listgate/io/buffer.h"

namespace listgate::delivery::detail {

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

inline bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// The lines of the first `limit` bytes of a chain, without their line ends
// (CRLF, or a bare LF) and with dot-stuffing undone. A line the limit cuts
// is not returned; the body's last line is, even without a line end.
class ChainLines {
 public:
  ChainLines(const io::SliceChain& chain, size_t limit) : chain_(chain), limit_(limit) {}

  std::optional<std::string_view> next() {
    if (done_) return std::nullopt;
    std::string_view first;  // the line while it lies in one slice
    size_t pieces = 0;
    size_t taken = 0;
    bool ended = false;
    while (!ended && slice_ < chain_.size()) {
      const std::string_view rest = chain_[slice_].view().substr(offset_);
      if (rest.empty()) {
        ++slice_;
        offset_ = 0;
        continue;
      }
      // Search only as far as the limit allows, so an endless line costs no more than `limit`.
      const std::string_view window = rest.substr(0, limit_ - consumed_ - taken);
      const size_t lf = window.find('\n');
      if (lf == std::string_view::npos && window.size() < rest.size()) {
        done_ = true;  // the limit cuts this line
        return std::nullopt;
      }
      const std::string_view piece = lf == std::string_view::npos ? window : window.substr(0, lf + 1);
      ended = lf != std::string_view::npos;
      offset_ += piece.size();
      taken += piece.size();
      if (pieces == 0) {
        first = piece;
      } else {
        if (pieces == 1) scratch_.assign(first);
        scratch_.append(piece);
      }
      ++pieces;
    }
    if (pieces == 0) {
      done_ = true;
      return std::nullopt;
    }
    line_begin_ = consumed_;
    consumed_ += taken;
    std::string_view line = pieces == 1 ? first : std::string_view(scratch_);
    if (ended) {
      line.remove_suffix(1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    }
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    return line;
  }

  // Wire offset of the last line returned, and of the end of its line end.
  size_t line_begin() const { return line_begin_; }
  size_t consumed() const { return consumed_; }

 private:
  const io::SliceChain& chain_;
  const size_t limit_;
  size_t slice_ = 0;
  size_t offset_ = 0;  // in chain_[slice_]
  size_t consumed_ = 0;
  size_t line_begin_ = 0;
  bool done_ = false;
  std::string scratch_;
};

inline bool is_continuation(std::string_view line) {
  return !line.empty() && (line.front() == ' ' || line.front() == '\t');
}

// "Name: value" (RFC 5322 field name, blanks allowed before the colon as in
// the obsolete syntax): the name and the untrimmed value. False for any
// other line, such as text or a MIME boundary.
inline bool split_field(std::string_view line, std::string_view& name, std::string_view& value) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view n = line.substr(0, colon);
  while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
  if (n.empty()) return false;
  for (char c : n) {
    if (c <= ' ' || c > '~') return false;
  }
  name = n;
  value = line.substr(colon + 1);
  return true;
}

// Reads lines as header fields, joining a field's folded lines with one
// space. Only fields that `pick(name)` gives a tag (>= 0) are copied; each
// reaches `keep(tag, value)` complete and trimmed. Every other line (empty
// lines, text, boundaries) goes to `other(line)`, which returns false to stop.
template <class Pick, class Keep, class Other>
void read_fields(ChainLines& lines, Pick pick, Keep keep, Other other) {
  int tag = -1;
  std::string value;
  const auto finish = [&] {
    if (tag >= 0) keep(tag, std::string_view(value));
    tag = -1;
  };
  while (const std::optional<std::string_view> line = lines.next()) {
    if (is_continuation(*line)) {
      const std::string_view more = trim(*line);
      if (tag >= 0 && !more.empty()) {
        if (!value.empty()) value += ' ';
        value.append(more);
      }
      continue;
    }
    finish();
    std::string_view name;
    std::string_view v;
    if (split_field(*line, name, v)) {
      tag = pick(name);
      if (tag >= 0) value.assign(trim(v));
    } else if (!other(*line)) {
      return;
    }
  }
  finish();
}

}  // namespace listgate::delivery::detail

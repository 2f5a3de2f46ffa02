// unstuffer.h - copies a DATA body while undoing dot-stuffing (--keep-last).
//
// Only the --keep-last path copies bodies, so this is a plain memchr loop
// over lines. The state carried between pieces is whether the next byte
// starts a line (the body starts a line; so does the byte after CRLF) and
// whether the last byte was CR. The terminator line "." CRLF comes out as
// CRLF: the owner cuts the last two bytes when the body ends.
#pragma once

#include <string>
#include <string_view>

namespace listgate::sink {

class Unstuffer {
 public:
  void reset() {
    line_start_ = true;
    prev_cr_ = false;
  }
  void append(std::string& out, std::string_view in);

 private:
  bool line_start_ = true;
  bool prev_cr_ = false;
};

}  // namespace listgate::sink

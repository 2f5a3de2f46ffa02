// body_scanner.h - finds the end of a DATA body and counts its stuffed dots.
//
// A body arrives in pieces of any size. Only CRLF "." CRLF ends it (a bare
// LF "." LF does not: SMTP smuggling), and the body starts right after the
// CRLF of the DATA line, so a lone ".\r\n" is an empty body. Every line
// that starts with "." was dot-stuffed by the client; counting them gives
// the unstuffed size without copying a byte:
//   unstuffed = wire bytes (terminator included) - dots (its dot included) - 2
//
// Why this shape: the scanner is the sink's hot loop at >1 GB/s. Patterns
// wholly inside a piece are found with SSE2 (three compares per 16 bytes
// when there is no "\r\n." in the block, the common case); patterns that
// straddle two pieces are found in a small window made of the last four
// bytes of the previous piece and the first four of this one, so the vector
// loop never needs state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace listgate::sink {

class BodyScanner {
 public:
  struct Step {
    size_t consumed = 0;  // bytes of the input that belong to the body (terminator included)
    bool end = false;     // the terminator ended in this input
    uint64_t dots = 0;    // line-start dots ("\r\n." patterns) inside the consumed bytes
  };

  BodyScanner() { reset(); }
  // Starts a new body (as if "\r\n" had just been seen).
  void reset();
  Step scan(std::string_view bytes);

 private:
  static constexpr size_t kCarry = 4;  // the terminator is 5 bytes
  char carry_[kCarry];
  size_t carry_len_ = 0;
};

// Searches [p, p + n) for "\r\n.\r\n" wholly inside it. Returns the offset
// just past its final LF, or 0 when there is none; `dots` gets the "\r\n."
// patterns wholly inside the range up to that point (terminator's included).
size_t find_body_end(const char* p, size_t n, uint64_t* dots);
// The same, a byte at a time (reference for tests; used for short tails).
size_t find_body_end_scalar(const char* p, size_t n, uint64_t* dots);

}  // namespace listgate::sink

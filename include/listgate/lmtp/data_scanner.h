// data_scanner.h - finds the end of an LMTP DATA body and spots bare CR/LF.
//
// The body is scanned once, as it arrives, in whatever pieces the socket
// delivers; the state carried between pieces is how much of "\r\n.\r\n" the
// bytes so far end with. Only CRLF "." CRLF ends a body (SMTP smuggling: a
// bare "\n.\n" or "\r.\r" does not), and the first CRLF may be the one that
// ended the DATA command, so an empty body is a lone ".\r\n".
//
// scan_data() is the hot path of a high-volume gateway: on x86-64 it looks at
// 64 bytes per step with SSE2 compare masks (CR, LF, '.') combined with
// shifted copies of themselves, so a terminator or a bare newline is a few
// bit operations on 64-bit words; the scalar loop handles the tail and other
// architectures. scan_data_scalar() is the reference the tests compare with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace listgate::lmtp {

// How much of the terminator "\r\n.\r\n" the bytes seen so far end with.
enum DataMatch : uint8_t {
  kMatchNone = 0,
  kMatchCr = 1,         // "\r"
  kMatchCrLf = 2,       // "\r\n" (also the start of a body)
  kMatchCrLfDot = 3,    // "\r\n."
  kMatchCrLfDotCr = 4,  // "\r\n.\r"
};

struct DataScanState {
  uint8_t matched = kMatchCrLf;  // a body starts right after the DATA line's CRLF
  bool bare_newline = false;     // a CR not followed by LF, or an LF not after CR, was seen
};

struct DataScanResult {
  // Bytes of the input that belong to the body: all of it, or up to and
  // including the LF that ends the terminator.
  size_t consumed = 0;
  bool end = false;  // the terminator was found; consumed ends with it
};

// Scans `bytes`, continuing from `state`. After end is reported the state is
// spent: start the next body with a fresh DataScanState.
DataScanResult scan_data(std::string_view bytes, DataScanState& state);

// Byte-at-a-time reference implementation (same results, slower).
DataScanResult scan_data_scalar(std::string_view bytes, DataScanState& state);

}  // namespace listgate::lmtp

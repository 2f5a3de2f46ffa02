// smtp_body.h - a message's DATA phase as output segments: headers, body, dot.
//
// The body arrives in wire form (dot-stuffed, as the LMTP client sent it,
// without the final ".\r\n") and normally goes out exactly so, every slice by
// reference. Only a body with bare CR or LF (Transaction::bare_newlines) is
// changed, because DESIGN.md 5 forbids forwarding them (SMTP smuggling):
// each bare CR or LF becomes CRLF. Repair only ever inserts bytes ("\r"
// before a bare LF, "\n" after a bare CR, '.' to stuff a line that the
// repair started and that begins with '.'), so even then long runs of the
// original slices are still sent by reference; runs shorter than
// kMinReferencedRun between insertions are copied instead, since a segment
// per few bytes would cost more in iovecs than the copy. Slices without
// anything to repair are never copied. A CR at the end of one slice and an
// LF at the start of the next are a proper CRLF: state is carried across
// slices, and the output does not depend on how the body was sliced.
//
// Line starts that were already line starts in the input (after a CRLF) are
// stuffed by the LMTP client; only line starts the repair creates need a
// check. The header prefix is generated text, not wire form: every line of
// it that starts with '.' is stuffed, and its line ends are made CRLF.
//
// BDAT (RFC 3030) sends the message itself, not its wire form: no stuffing
// and an exact size on the command line. The body is then un-stuffed by
// reference too: a line-start '.' of the wire form is always a stuffing dot
// (the LMTP client added it), so the slices go out split around those dots
// and not a body byte is copied. Only a body without bare CR/LF (no repair
// needed) goes out this way; the client uses DATA for the others.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "listgate/delivery/smtp_output.h"
#include "listgate/io/buffer.h"

namespace listgate::delivery {

// In a slice that needs repair, a run of original bytes at least this long
// is sent by reference; shorter runs are copied.
inline constexpr size_t kMinReferencedRun = 256;

struct BodyStats {
  uint64_t referenced = 0;  // body bytes queued by reference
  uint64_t copied = 0;      // body bytes copied (repair path only)
  uint64_t inserted = 0;    // bytes the repair added (CR, LF, stuffing dots, final CRLF)
};

// The header prefix in wire form: bare CR/LF made CRLF, lines starting with
// '.' stuffed, a final CRLF added when missing (empty stays empty).
std::string wire_header_prefix(std::string_view prefix);

// Appends the DATA phase after a 354: `wire_prefix` (from
// wire_header_prefix), the body (null means empty), a CRLF if the message
// does not end with one, and ".\r\n". With `repair`, bare CR/LF in the body
// are fixed as described above.
BodyStats append_message(OutputQueue& out, std::string_view wire_prefix, const io::SliceChain* body, bool repair);

// The header prefix for BDAT: line ends made CRLF, a final CRLF added when
// missing, nothing stuffed.
std::string chunk_header_prefix(std::string_view prefix);

// Appends the message for BDAT: `chunk_prefix` (from chunk_header_prefix),
// the wire-form body (null means empty; no bare CR/LF) with its stuffing
// dots left out, and a CRLF if the message does not end with one. The
// message's size is the growth of out.size().
BodyStats append_unstuffed_message(OutputQueue& out, std::string_view chunk_prefix, const io::SliceChain* body);

}  // namespace listgate::delivery

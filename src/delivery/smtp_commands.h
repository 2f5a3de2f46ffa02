// smtp_commands.h - the command lines the SMTP/LMTP client sends (internal).
//
// Kept apart from the machine so the machine reads as a protocol and the
// exact bytes are in one place. Addresses are checked before they are put
// on a command line: a CR or LF in one would let a sender inject commands
// into the upstream session, so such an address never leaves here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/delivery/smtp_client.h"

namespace listgate::delivery::commands {

// RFC 5321 4.5.3.1.3: a path is at most 256 octets, brackets included.
inline constexpr size_t kMaxPathLength = 256 - 2;

// What a job needs to know of each address, found in one pass (sixteen or
// eight bytes at a time: this runs once per member of every fan-out).
struct PathCheck {
  // It may go between angle brackets on a command line: no control bytes,
  // no brackets, not too long. Empty is valid (the null path).
  bool valid = true;
  bool non_ascii = false;  // a byte >= 0x80 (RFC 6531 needs SMTPUTF8)
};
PathCheck check_path(std::string_view address);

struct MailParameters {
  bool size = false;  // SIZE=size
  uint64_t size_value = 0;
  bool body_8bitmime = false;
  bool smtputf8 = false;
  bool xverp = false;
};

void append_hello(std::string& out, Protocol protocol, bool helo, std::string_view name);
void append_mail(std::string& out, std::string_view sender, const MailParameters& p);
void append_rcpt(std::string& out, std::string_view recipient);
// RCPT lines for recipients[i], i in `which`, in order (a pipelined group:
// `out` grows once).
void append_rcpts(std::string& out, const std::vector<std::string_view>& recipients, std::span<const uint32_t> which);
void append_line(std::string& out, std::string_view command);  // command + CRLF
// "BDAT <size> LAST" (RFC 3030): the whole message as one chunk.
void append_bdat_last(std::string& out, uint64_t size);

inline constexpr std::string_view kRset = "RSET";
inline constexpr std::string_view kData = "DATA";
inline constexpr std::string_view kQuit = "QUIT";
inline constexpr std::string_view kAuthPlain = "AUTH PLAIN ";
inline constexpr std::string_view kAuthLogin = "AUTH LOGIN";

}  // namespace listgate::delivery::commands

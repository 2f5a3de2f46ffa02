// message_text.h - the text of the generated messages and commands.
//
// Pure string building, done once before a run; the load loop only sends
// the results (workload.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace listgate::loadbench {

inline constexpr std::string_view kBenchDomain = "listgate-bench.example";

// A message of exactly `size` bytes (>= kMinMessageSize), CRLF lines, a
// header block with a Message-ID naming `size` and `variant` (so listgate
// adds none), then lines of 'x'. No line starts with '.', so the wire form
// is the text followed by ".\r\n".
std::string make_message(uint64_t size, size_t variant);

std::string mail_command(std::string_view sender, uint64_t size);  // MAIL FROM:<s> SIZE=n CRLF
std::string rcpt_command(std::string_view address);                 // RCPT TO:<a> CRLF
std::string lhlo_command();
std::string quit_command();
std::string rset_command();

}  // namespace listgate::loadbench

// message_text.cc - see message_text.h.
#include "message_text.h"

#include <algorithm>

#include "listgate/base/concat.h"

namespace listgate::loadbench {
namespace {

constexpr size_t kLine = 78;  // body line length, CRLF included

std::string header_block(uint64_t size, size_t variant, bool pad) {
  const std::string n = std::to_string(size);
  const std::string v = std::to_string(variant);
  return concat({"From: listgate-bench <bench@", kBenchDomain, ">\r\n",
                 "To: <bench-list@", kBenchDomain, ">\r\n",
                 "Subject: listgate-bench message of ", n, " bytes", pad ? "." : "", "\r\n",
                 "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n",
                 "Message-ID: <bench-", n, "-", v, "@", kBenchDomain, ">\r\n",
                 "\r\n"});
}

}  // namespace

std::string make_message(uint64_t size, size_t variant) {
  std::string text = header_block(size, variant, false);
  // A body of one byte cannot end in CRLF: lengthen the header instead.
  if (size == text.size() + 1) text = header_block(size, variant, true);
  text.reserve(std::max<uint64_t>(size, text.size()));
  uint64_t left = size > text.size() ? size - text.size() : 0;
  while (left > 0) {
    uint64_t n = std::min<uint64_t>(left, kLine);
    if (left - n == 1) --n;  // never leave one byte for the last line
    text.append(static_cast<size_t>(n - 2), 'x');
    text.append("\r\n");
    left -= n;
  }
  return text;
}

std::string mail_command(std::string_view sender, uint64_t size) {
  return concat({"MAIL FROM:<", sender, "> SIZE=", std::to_string(size), "\r\n"});
}

std::string rcpt_command(std::string_view address) { return concat({"RCPT TO:<", address, ">\r\n"}); }

std::string lhlo_command() { return concat({"LHLO ", kBenchDomain, "\r\n"}); }

std::string quit_command() { return "QUIT\r\n"; }

std::string rset_command() { return "RSET\r\n"; }

}  // namespace listgate::loadbench

// smtp_commands.cc - command line formatting (see smtp_commands.h).
#include "smtp_commands.h"

namespace listgate::delivery::commands {
namespace {

constexpr std::string_view kCrLf = "\r\n";
constexpr unsigned char kFirstPrintable = 0x20;
constexpr unsigned char kDelete = 0x7f;
constexpr unsigned char kFirstNonAscii = 0x80;

bool non_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= kFirstNonAscii) return true;
  }
  return false;
}

}  // namespace

bool valid_path(std::string_view address) {
  if (address.size() > kMaxPathLength) return false;
  for (char c : address) {
    const auto u = static_cast<unsigned char>(c);
    if (u < kFirstPrintable || u == kDelete || c == '<' || c == '>') return false;
  }
  return true;
}

bool has_non_ascii_address(const Job& job) {
  if (non_ascii(job.sender)) return true;
  for (const std::string& r : job.recipients) {
    if (non_ascii(r)) return true;
  }
  return false;
}

void append_line(std::string& out, std::string_view command) {
  out += command;
  out += kCrLf;
}

void append_hello(std::string& out, Protocol protocol, bool helo, std::string_view name) {
  out += protocol == Protocol::lmtp ? "LHLO " : (helo ? "HELO " : "EHLO ");
  out += name;
  out += kCrLf;
}

void append_mail(std::string& out, std::string_view sender, const MailParameters& p) {
  out += "MAIL FROM:<";
  out += sender;
  out += '>';
  if (p.size) {
    out += " SIZE=";
    out += std::to_string(p.size_value);
  }
  if (p.body_8bitmime) out += " BODY=8BITMIME";
  if (p.smtputf8) out += " SMTPUTF8";
  if (p.xverp) out += " XVERP";
  out += kCrLf;
}

void append_rcpt(std::string& out, std::string_view recipient) {
  out += "RCPT TO:<";
  out += recipient;
  out += '>';
  out += kCrLf;
}

}  // namespace listgate::delivery::commands

// command.h - LMTP command lines split into verb and arguments, and the
// MAIL/RCPT argument grammars (RFC 5321 4.1.1.2, 4.1.1.3, 4.1.2; RFC 1870
// SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8).
//
// Parsing is separate from the session so it can be tested line by line and
// stays allocation-free: results are string_views into the caller's line.
// The grammar is liberal where real clients are sloppy (case, "FROM: <x>",
// trailing blanks, several spaces between parameters) and strict where
// sloppiness would be unsafe: angle brackets are required and a path may not
// hold control characters, so nothing fed back in a reply can break a line.
#pragma once

#include <cstdint>
#include <string_view>

namespace listgate::lmtp {

enum class Verb : uint8_t {
  empty,    // an empty (or all-blank) line
  unknown,  // anything else not listed here
  lhlo,
  helo,
  ehlo,
  mail,
  rcpt,
  data,
  rset,
  noop,
  quit,
  vrfy,
  help,
};

struct Command {
  Verb verb = Verb::unknown;
  std::string_view arg;  // after the verb and its spaces; trailing blanks removed
};

// `line` excludes the line terminator. Verbs are case-insensitive and must be
// followed by a space or the end of the line ("MAILX" is unknown).
Command split_command(std::string_view line);

enum class ParseError : uint8_t {
  none,
  syntax,             // 501 5.5.4
  bad_value,          // 501 5.5.4: a known parameter with a bad value
  unknown_parameter,  // 555 5.5.4
};

enum class BodyType : uint8_t { unspecified, seven_bit, eight_bit_mime };

struct MailArgs {
  std::string_view path;  // reverse-path without brackets; empty for <>
  bool has_size = false;
  uint64_t size = 0;      // SIZE=n; saturates at UINT64_MAX
  BodyType body = BodyType::unspecified;
  bool smtputf8 = false;
};

struct RcptArgs {
  std::string_view path;  // forward-path without brackets or source route; never empty
};

// `arg` is Command::arg of MAIL: "FROM:<path> [params]".
ParseError parse_mail(std::string_view arg, MailArgs& out);
// `arg` is Command::arg of RCPT: "TO:<path> [params]" (no parameters are supported).
ParseError parse_rcpt(std::string_view arg, RcptArgs& out);

// "<...>" at the start of `s`: on success `mailbox` is the path without
// brackets and without an RFC 5321 source route ("@a,@b:"), and `s` is left
// after the '>'. A quoted local part may hold spaces and '>'.
bool parse_path(std::string_view& s, std::string_view& mailbox);

}  // namespace listgate::lmtp

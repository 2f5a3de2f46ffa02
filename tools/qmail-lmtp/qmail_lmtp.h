// qmail_lmtp.h - the parts of qmail-lmtp without sockets: arguments, the
// envelope from qmail-local's environment, the namespace prefix, LMTP reply
// lines, reply classification and the DATA encoding (CRLF, dot-stuffing).
//
// qmail-lmtp PORT STRIP [HOST] is run by qmail-local from a .qmail file
// ("|qmail-lmtp 8024 1"). It reads one message on stdin, delivers it over
// LMTP to one recipient and exits with qmail-command(8)'s codes:
//   0   delivered (the LMTP server answered 2xx after the final dot)
//   100 permanent failure: qmail bounces the message at once
//   111 temporary failure: qmail keeps it queued and tries again later
// and one line on stdout saying why, which qmail-local puts into its log and
// into the bounce.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qmail_lmtp {

enum class Outcome { delivered, permanent, temporary };

// qmail-command(8) exit code of an outcome: 0, 100 or 111.
int exit_code(Outcome outcome);

// The command line.
struct Options {
  uint16_t port = 0;
  unsigned strip = 0;              // dash-separated parts dropped from the front of $LOCAL
  std::string host = "127.0.0.1";  // name, IPv4/IPv6 address, or an absolute Unix socket path
};

// A failure with the outcome it maps to and a one-line reason.
struct Failure {
  Outcome outcome = Outcome::temporary;
  std::string reason;
};

// Parses PORT STRIP [HOST] (the arguments after the program name). A bad
// command line is a broken .qmail file: a temporary failure, so that mail
// waits in the queue while the administrator fixes it.
struct ParsedArgs {
  std::optional<Options> options;
  Failure failure;  // when !options
};
ParsedArgs parse_args(std::span<const std::string_view> args);

// The envelope of the delivery.
struct Envelope {
  std::string sender;     // "" for the null sender (bounces)
  std::string recipient;  // local@domain, with the namespace prefix dropped
};

// Looks up an environment variable; nullptr when unset (getenv's contract).
using EnvLookup = std::function<const char*(const char*)>;

// Builds the envelope from qmail-local's environment (qmail-command(8)):
//   $SENDER      the envelope sender ("" for bounces; qmail's double-bounce
//                sender "#@[]" is sent as the null sender too)
//   $LOCAL/$HOST the recipient's local part and domain; $RECIPIENT
//                (local@domain) when they are unset
// and drops `strip` dash-separated parts from the front of the local part:
// with "lists.example.org:mailman" in virtualdomains, qmail delivers
// announce@lists.example.org as LOCAL=mailman-announce, and STRIP 1 gives
// announce@lists.example.org back.
//
// Missing variables mean the program was not started by qmail-local (or by
// a broken set-up): temporary. A local part with no more than STRIP parts
// (mail to the bare namespace, "mailman@...") names no list: permanent, as
// listgate would answer 550 for it. So do addresses with characters that
// cannot go into an LMTP command (controls, blanks, "<", ">").
struct ParsedEnvelope {
  std::optional<Envelope> envelope;
  Failure failure;  // when !envelope
};
ParsedEnvelope envelope_from_env(const EnvLookup& env, unsigned strip);

// `local` without its first `strip` dash-separated parts, or nullopt when
// nothing (or only an empty string) would be left.
std::optional<std::string> strip_local_part(std::string_view local, unsigned strip);

// One LMTP reply: its code and its text lines (without code and separator).
struct Reply {
  int code = 0;
  std::vector<std::string> lines;
  // "CODE text", the lines joined by " ", made printable and cut to a length
  // that fits one line of a bounce.
  std::string summary() const;
  // True if some line (after the first, the keyword lines of LHLO) starts
  // with `keyword`, case-insensitively, as a whole word.
  bool has_keyword(std::string_view keyword) const;
};

// Collects the lines of one reply ("250-first", "250 last"; CR LF already
// removed).
class ReplyReader {
 public:
  static constexpr size_t max_lines = 100;
  // Adds a line. Returns true when the reply is complete, false when more
  // lines must follow; sets error() (and returns true) for a malformed line.
  bool add_line(std::string_view line);
  const Reply& reply() const { return reply_; }
  const std::string& error() const { return error_; }
  void reset();

 private:
  Reply reply_;
  std::string error_;
};

// Where in the dialogue a reply came.
enum class Stage { greeting, lhlo, mail, rcpt, data, final };
const char* stage_name(Stage stage);

// The outcome of a reply at a stage. 2xx goes on (at `final`: delivered;
// 354 is the go-ahead at `data`); 4xx is temporary; 5xx is permanent for
// MAIL, RCPT, DATA and the final reply (the server refused this message),
// but temporary at the greeting and LHLO, where it means that the server is
// not ready or not an LMTP server at all (a set-up problem, not a verdict on
// the message). Codes outside 2xx-5xx are temporary (a broken server).
// Returns nullopt when the dialogue goes on.
std::optional<Outcome> classify(Stage stage, int code);

// The message as LMTP's DATA wants it, from qmail's LF lines: every LF not
// already after a CR becomes CRLF, a "." at the start of a line is doubled,
// and finish() ends an unterminated last line and adds ".\r\n".
class DataEncoder {
 public:
  void encode(std::string_view in, std::string& out);
  void finish(std::string& out);

 private:
  bool line_start_ = true;
  bool prev_cr_ = false;
};

// `text` with controls replaced by "?" and cut to `max` bytes, on one line.
std::string printable(std::string_view text, size_t max = 400);

// The MAIL FROM command (with BODY=8BITMIME when the server offers it, and
// SMTPUTF8 when it offers it and an address is not ASCII), without CRLF.
std::string mail_command(const Envelope& envelope, const Reply& lhlo_reply);

// Timeouts, in seconds.
struct Timeouts {
  unsigned connect = 30;
  unsigned command = 300;  // greeting, LHLO, MAIL, RCPT, DATA, each write
  unsigned final = 600;    // the replies after the final dot
};
// The defaults, or every timeout set to $QMAIL_LMTP_TIMEOUT (seconds, 1 to
// 3600) when that is set to a valid number.
Timeouts timeouts_from_env(const EnvLookup& env);

}  // namespace qmail_lmtp

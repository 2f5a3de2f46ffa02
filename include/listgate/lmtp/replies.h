// replies.h - the LMTP reply texts of DESIGN.md section 4, in one place.
//
// Fixed replies are constants with their CRLF so the session appends them
// without formatting; the few that name the host or the SIZE limit are built
// once per session (HostReplies). Tests and dialogue files compare against
// these exact bytes, so a wording change is made here and nowhere else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace listgate::lmtp::reply {

inline constexpr std::string_view kCrLf = "\r\n";

// Transaction progress.
inline constexpr std::string_view kMailOk = "250 2.1.0 Ok\r\n";
inline constexpr std::string_view kRcptOk = "250 2.1.5 Ok\r\n";
inline constexpr std::string_view kStartData = "354 Start mail input; end with <CRLF>.<CRLF>\r\n";
inline constexpr std::string_view kOk = "250 2.0.0 Ok\r\n";  // RSET, NOOP
inline constexpr std::string_view kVrfy =
    "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n";
inline constexpr std::string_view kHelp =
    "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP (RFC 2033)\r\n";

// Recipients and sizes. The 550 reply is built: "550 5.1.1 <addr>: " + kRejectedTail.
inline constexpr std::string_view kRejectedHead = "550 5.1.1 <";
inline constexpr std::string_view kRejectedTail = ">: Recipient address rejected\r\n";
inline constexpr std::string_view kTooManyRecipients = "452 4.5.3 Too many recipients\r\n";
inline constexpr std::string_view kMessageTooBig =
    "552 5.3.4 Message size exceeds fixed maximum message size\r\n";
inline constexpr std::string_view kNoDirectory =
    "451 4.3.0 Recipient table not available, try again later\r\n";
// Given by complete() to recipients the owner supplied no reply for.
inline constexpr std::string_view kMissingReply = "451 4.3.0 Local error in processing";

// Sequence errors (503 5.5.1).
inline constexpr std::string_view kNeedLhlo = "503 5.5.1 Error: send LHLO first\r\n";
inline constexpr std::string_view kNestedMail = "503 5.5.1 Error: nested MAIL command\r\n";
inline constexpr std::string_view kNeedMail = "503 5.5.1 Error: need MAIL command\r\n";
inline constexpr std::string_view kNeedRcpt = "503 5.5.1 Error: need RCPT command\r\n";

// Syntax errors.
inline constexpr std::string_view kUnknownCommand = "500 5.5.1 Error: command not recognized\r\n";
inline constexpr std::string_view kEmptyLine = "500 5.5.1 Error: empty command line\r\n";
inline constexpr std::string_view kUseLhlo = "500 5.5.1 Error: this is LMTP, use LHLO\r\n";
inline constexpr std::string_view kLineTooLong = "500 5.5.2 Line too long\r\n";
inline constexpr std::string_view kLhloSyntax = "501 5.5.4 Syntax: LHLO hostname\r\n";
inline constexpr std::string_view kMailSyntax = "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n";
inline constexpr std::string_view kRcptSyntax = "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
inline constexpr std::string_view kBadParameterValue = "501 5.5.4 Bad parameter value\r\n";
inline constexpr std::string_view kDataSyntax = "501 5.5.4 Syntax: DATA\r\n";
inline constexpr std::string_view kRsetSyntax = "501 5.5.4 Syntax: RSET\r\n";
inline constexpr std::string_view kQuitSyntax = "501 5.5.4 Syntax: QUIT\r\n";
inline constexpr std::string_view kVrfySyntax = "501 5.5.4 Syntax: VRFY address\r\n";
inline constexpr std::string_view kUnknownParameter = "555 5.5.4 Unsupported parameter\r\n";

// Replies that name the host or the size limit, built once per session.
struct HostReplies {
  HostReplies(std::string_view host, uint64_t max_message_size);
  std::string greeting;      // 220 HOST LMTP listgate ready
  std::string lhlo;          // the whole multi-line 250 LHLO reply
  std::string quit;          // 221 2.0.0 HOST closing connection
  std::string idle_timeout;  // 421 4.4.2 HOST Idle timeout, closing connection
  std::string shutdown;      // 421 4.3.2 HOST Service shutting down
};

}  // namespace listgate::lmtp::reply

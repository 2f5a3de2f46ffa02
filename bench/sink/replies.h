// replies.h - every fixed reply line of the sink, in one place.
//
// The session appends these to its output as they are (no formatting on the
// hot path); README.md "SMTP dialogue" lists them for test writers.
#pragma once

#include <string_view>

namespace listgate::sink::reply {

inline constexpr std::string_view kGreeting = "220 sink ESMTP\r\n";
inline constexpr std::string_view kDownGreeting = "421 4.3.2 sink is down\r\n";
inline constexpr std::string_view kGoingDown = "421 4.3.2 sink going down\r\n";
inline constexpr std::string_view kHelo = "250 sink\r\n";
inline constexpr std::string_view kEhloFirst = "250-sink\r\n";
inline constexpr std::string_view kMailOk = "250 2.1.0 Ok\r\n";
inline constexpr std::string_view kRcptOk = "250 2.1.5 Ok\r\n";
inline constexpr std::string_view kDataGo = "354 End data with <CR><LF>.<CR><LF>\r\n";
inline constexpr std::string_view kQueuedPrefix = "250 2.0.0 Ok: queued as ";
// A BDAT chunk that is not the last: prefix, its size, suffix.
inline constexpr std::string_view kChunkOkPrefix = "250 2.0.0 Ok: ";
inline constexpr std::string_view kChunkOkSuffix = " bytes\r\n";
inline constexpr std::string_view kOk = "250 2.0.0 Ok\r\n";
inline constexpr std::string_view kBye = "221 2.0.0 Bye\r\n";
inline constexpr std::string_view kVrfy = "252 2.0.0 Cannot VRFY user\r\n";
inline constexpr std::string_view kHelp = "214 2.0.0 sink: see bench/sink/README.md\r\n";
inline constexpr std::string_view kAuthOk = "235 2.7.0 Authentication successful\r\n";
inline constexpr std::string_view kAuthPlainGo = "334 \r\n";
inline constexpr std::string_view kAuthUsername = "334 VXNlcm5hbWU6\r\n";  // "Username:"
inline constexpr std::string_view kAuthPassword = "334 UGFzc3dvcmQ6\r\n";  // "Password:"

inline constexpr std::string_view kTooManyRecipients = "452 4.5.3 Too many recipients\r\n";
inline constexpr std::string_view kMessageTooBig = "552 5.3.4 Message too big\r\n";
inline constexpr std::string_view kNoValidRecipients = "554 5.5.1 No valid recipients\r\n";
inline constexpr std::string_view kAuthRequired = "530 5.7.0 Authentication required\r\n";
inline constexpr std::string_view kAuthInvalid = "535 5.7.8 Authentication credentials invalid\r\n";
inline constexpr std::string_view kAuthCancelled = "501 5.0.0 Authentication cancelled\r\n";
inline constexpr std::string_view kAuthBadBase64 = "501 5.5.2 Cannot decode response\r\n";
inline constexpr std::string_view kAuthUnavailable = "502 5.5.1 AUTH not available\r\n";
inline constexpr std::string_view kAuthMechanism = "504 5.5.4 Unrecognized authentication type\r\n";
inline constexpr std::string_view kBadSequence = "503 5.5.1 Bad sequence of commands\r\n";
inline constexpr std::string_view kSyntax = "501 5.5.4 Syntax error in parameters or arguments\r\n";
inline constexpr std::string_view kBadParameter = "555 5.5.4 Unsupported parameter\r\n";
inline constexpr std::string_view kUnknown = "500 5.5.1 Command unrecognized\r\n";
inline constexpr std::string_view kLineTooLong = "500 5.5.2 Line too long\r\n";

}  // namespace listgate::sink::reply

// bounce_log.h - the bounce log (JSON Lines) and reading bounces that arrive.
//
// One JSON object per line (DESIGN.md section 5):
//   {"time":"2026-11-25T10:00:00Z","list":"announce@lists.example.org",
//    "member":"alice@example.com","status":"5.1.1",
//    "diagnostic":"550 5.1.1 <alice@example.com>: user unknown",
//    "message_id":"<abc@example.org>"}
// `member`, `status`, `message_id` are omitted when unknown ("" means unknown).
// Each line is appended with one write(2) on an O_APPEND descriptor, so lines
// from one process never interleave.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "listgate/base/result.h"
#include "listgate/io/buffer.h"

namespace listgate::delivery {

struct BounceRecord {
  std::chrono::system_clock::time_point time;
  std::string_view list;
  std::string_view member;      // "" when unknown
  std::string_view status;      // enhanced code, e.g. "5.1.1"; "" when unknown
  std::string_view diagnostic;  // upstream reply or the DSN's text
  std::string_view message_id;  // "" when unknown
};

// The JSON object of one record, without the newline (strings escaped per
// RFC 8259; non-ASCII UTF-8 passes through, invalid bytes become U+FFFD).
std::string format_bounce_record(const BounceRecord& record);

class BounceLog {
 public:
  // Opens `path` for appending, creating it (mode 0640) and its parent
  // directories when missing.
  static Result<std::unique_ptr<BounceLog>> open(const std::string& path);
  ~BounceLog();
  BounceLog(const BounceLog&) = delete;  // owns the descriptor
  BounceLog& operator=(const BounceLog&) = delete;
  const std::string& path() const { return path_; }
  Result<void> record(const BounceRecord& record);

 private:
  BounceLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

// What an incoming bounce (mail to list-bounces@...) says, read from a DSN
// (RFC 3464 message/delivery-status: Final-Recipient, Status,
// Diagnostic-Code, Action) when there is one, within the first `limit` bytes.
struct BounceReport {
  std::string final_recipient;  // the address part of Final-Recipient (rfc822;addr), lower case as given
  std::string status;           // e.g. "5.1.1"
  std::string diagnostic;       // Diagnostic-Code text (after "smtp;"), unfolded, trimmed
  std::string message_id;       // the bounce message's own Message-ID
  bool is_dsn = false;          // a delivery-status part was found
};
BounceReport read_bounce(const io::SliceChain& body, size_t limit = 256 * 1024);

// The member a VERP tag names, Mailman style: "alice=example.org" ->
// "alice@example.org" (split at the last '='); "" when the tag has no '='
// or an empty side.
std::string decode_verp_tag(std::string_view tag);

}  // namespace listgate::delivery

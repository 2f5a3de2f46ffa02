// smtp_reply.h - upstream SMTP/LMTP replies and the parser that cuts them out.
//
// The parser is fed whatever the socket delivered, in any split, and says
// "reply ready", "need more" or "error" (the Redis shape: consume from a
// position, never block). A multi-line reply ("250-..." lines, then
// "250 ...") is one Reply whose text is the lines joined by one space. It is
// strict where a lenient parser would let a broken or hostile upstream
// desynchronise the pipeline: a line must start with a three-digit code
// (2xx..5xx), continue with ' ', '-' or end, keep the same code on every
// line, and stay within kMaxReplyLine; anything else is an error and the
// connection is given up. It is lenient only about line ends (a bare LF ends
// a line as CRLF does), and it cleans control bytes out of the text so a
// reply can be passed on downstream as a reply line of our own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/index_iterator.h"

namespace listgate::delivery {

// Bytes of one reply line's text and code, CRLF not counted.
inline constexpr size_t kMaxReplyLine = 4096;
// Lines in one multi-line reply (an EHLO reply is the longest in practice).
inline constexpr size_t kMaxReplyLines = 256;

struct Reply {
  int code = 0;
  std::string enhanced;  // RFC 3463 status ("5.1.1"), empty when the reply has none
  std::string text;      // every line's text, enhanced codes removed, joined by ' '

  bool positive() const { return code >= 200 && code < 300; }
  bool intermediate() const { return code >= 300 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500 && code < 600; }
  // "CODE ENHANCED TEXT" on one line, without CRLF: ready to be sent on.
  std::string line() const;
  bool operator==(const Reply&) const = default;
};

Reply make_reply(int code, std::string_view enhanced, std::string_view text);

// One reply per recipient, in order, where recipients answered alike share
// one stored Reply: an SMTP final dot answers every accepted RCPT of a
// transaction, so a fan-out stores one reply per transaction, not one per
// member. Read like a const std::vector<Reply>.
class ReplyList {
 public:
  using value_type = Reply;
  using const_iterator = IndexIterator<ReplyList>;
  using iterator = const_iterator;

  ReplyList() = default;
  ReplyList(std::vector<Reply> per_recipient);  // NOLINT: implicit, one per recipient
  ReplyList(size_t n, const Reply& r) { assign(n, r); }
  // n recipients, all answered by `r`.
  void assign(size_t n, const Reply& r);
  // n recipients, each reading as an empty Reply until set().
  void reset(size_t n);
  // Stores a reply; the handle is for set().
  uint32_t add(Reply r);
  void set(size_t recipient, uint32_t handle) { of_[recipient] = handle; }

  size_t size() const { return of_.size(); }
  bool empty() const { return of_.empty(); }
  const Reply& operator[](size_t i) const { return stored_[of_[i]]; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, of_.size()}; }
  // The stored replies and which one each recipient has.
  const std::vector<Reply>& stored() const { return stored_; }
  uint32_t handle(size_t i) const { return of_[i]; }

  // Element by element, however the replies are shared.
  friend bool operator==(const ReplyList& a, const ReplyList& b);
  friend bool operator==(const ReplyList& a, const std::vector<Reply>& b);

 private:
  std::vector<Reply> stored_;
  std::vector<uint32_t> of_;  // per recipient: index into stored_
};

// The RFC 3463 code at the start of `text` ("4.7.1 ..."), when it is well
// formed and of class `reply_class` (the reply code's first digit); else empty.
std::string_view enhanced_code_prefix(std::string_view text, int reply_class);

class ReplyParser {
 public:
  enum class Status : uint8_t {
    need_more,  // all of the input is consumed, no reply is complete yet
    reply,      // a reply is complete: take() it; input after it is left in `in`
    error,      // the upstream broke the protocol: see error(); the parser stays broken
  };

  // Consumes bytes from the front of `in` up to the end of the next reply.
  Status feed(std::string_view& in);
  // The completed reply (valid once after Status::reply), built on demand.
  Reply take();
  // The raw text of each line of the last completed reply (EHLO keywords).
  const std::vector<std::string>& lines() const { return lines_; }
  // Bytes of an unfinished reply held so far.
  size_t pending() const { return partial_.size(); }
  // True between replies: nothing of the next one has been fed yet.
  bool idle() const { return partial_.empty() && (complete_ || used_lines_ == 0); }
  std::string_view error() const { return error_; }

 private:
  Status finish_line(std::string_view line);
  Status fail(std::string_view why);

  std::string partial_;             // the current line, until its LF (when split)
  // The lines of the reply being read; entries past used_lines_ keep their capacity.
  std::vector<std::string> lines_;
  size_t used_lines_ = 0;
  int code_ = 0;
  bool complete_ = false;           // lines_ holds a finished reply
  std::string error_;
};

}  // namespace listgate::delivery

// smtp_reply.cc - cutting upstream replies out of received bytes (see smtp_reply.h).
//
// A line is gathered in partial_ until its LF, because replies are small and
// rarely split; the cost of that copy is nothing next to the body, which
// never passes through here. Checks happen per line, so an overlong or
// malformed line fails as soon as it shows.
#include "listgate/delivery/smtp_reply.h"

namespace listgate::delivery {
namespace {

constexpr size_t kCodeLength = 3;
constexpr size_t kMaxEnhancedPart = 3;  // RFC 3463: subject and detail are 1..3 digits
constexpr size_t kLineEndLength = 2;    // CRLF

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Digits from `pos` on, at most kMaxEnhancedPart of them; returns how many.
size_t digits_at(std::string_view s, size_t pos) {
  size_t n = 0;
  while (pos + n < s.size() && n <= kMaxEnhancedPart && is_digit(s[pos + n])) ++n;
  return n;
}

// Control bytes (and DEL) become spaces: the text may be sent on as a reply.
void append_clean(std::string& out, std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
}

}  // namespace

std::string Reply::line() const {
  std::string s = std::to_string(code);
  if (!enhanced.empty()) {
    s += ' ';
    s += enhanced;
  }
  if (!text.empty()) {
    s += ' ';
    s += text;
  }
  return s;
}

Reply make_reply(int code, std::string_view enhanced, std::string_view text) {
  Reply r;
  r.code = code;
  r.enhanced = enhanced;
  append_clean(r.text, text);
  return r;
}

std::string_view enhanced_code_prefix(std::string_view text, int reply_class) {
  if (text.size() < 5 || text[0] != static_cast<char>('0' + reply_class) || text[1] != '.') return {};
  const size_t subject = digits_at(text, 2);
  if (subject == 0 || subject > kMaxEnhancedPart || 2 + subject >= text.size() || text[2 + subject] != '.') return {};
  const size_t detail_at = 3 + subject;
  const size_t detail = digits_at(text, detail_at);
  if (detail == 0 || detail > kMaxEnhancedPart) return {};
  const size_t end = detail_at + detail;
  if (end < text.size() && text[end] != ' ') return {};
  return text.substr(0, end);
}

ReplyParser::Status ReplyParser::fail(std::string_view why) {
  error_ = why;
  partial_.clear();
  return Status::error;
}

ReplyParser::Status ReplyParser::feed(std::string_view& in) {
  if (!error_.empty()) return Status::error;
  while (!in.empty()) {
    const size_t lf = in.find('\n');
    const size_t take = lf == std::string_view::npos ? in.size() : lf + 1;
    if (partial_.size() + take > kMaxReplyLine + kLineEndLength) return fail("reply line too long");
    partial_.append(in.data(), take);
    in.remove_prefix(take);
    if (lf == std::string_view::npos) return Status::need_more;
    const Status s = finish_line();
    if (s != Status::need_more) return s;
  }
  return Status::need_more;
}

ReplyParser::Status ReplyParser::finish_line() {
  std::string_view line(partial_);
  line.remove_suffix(1);  // the LF
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxReplyLine) return fail("reply line too long");
  if (line.size() < kCodeLength || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
      !is_digit(line[2])) {
    return fail("malformed reply code");
  }
  bool last = true;
  if (line.size() > kCodeLength) {
    if (line[kCodeLength] == '-') {
      last = false;
    } else if (line[kCodeLength] != ' ') {
      return fail("malformed reply code");
    }
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (complete_) {
    lines_.clear();
    complete_ = false;
  }
  if (!lines_.empty() && code != code_) return fail("reply code changes inside a multi-line reply");
  if (lines_.size() == kMaxReplyLines) return fail("too many lines in one reply");
  code_ = code;
  std::string text;
  append_clean(text, line.size() > kCodeLength + 1 ? line.substr(kCodeLength + 1) : std::string_view{});
  lines_.push_back(std::move(text));
  partial_.clear();
  if (!last) return Status::need_more;

  reply_ = Reply{};
  reply_.code = code;
  const int reply_class = code / 100;
  for (const std::string& l : lines_) {
    std::string_view t(l);
    const std::string_view enh = enhanced_code_prefix(t, reply_class);
    if (!enh.empty()) {
      if (reply_.enhanced.empty()) reply_.enhanced = enh;
      t.remove_prefix(enh.size());
      if (!t.empty()) t.remove_prefix(1);  // the space after the code
    }
    if (!reply_.text.empty() && !t.empty()) reply_.text += ' ';
    reply_.text += t;
  }
  complete_ = true;
  return Status::reply;
}

Reply ReplyParser::take() { return std::move(reply_); }

}  // namespace listgate::delivery

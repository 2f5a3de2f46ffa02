// smtp_reply.cc - cutting upstream replies out of received bytes (see smtp_reply.h).
//
// A line that arrived whole is parsed where it lies; one that was split is
// gathered in partial_ until its LF. The lines' strings keep their capacity
// from reply to reply, and the Reply is built only when taken. Checks happen
// per line, so an overlong or malformed line fails as soon as it shows.
#include "listgate/delivery/smtp_reply.h"

#include <cstring>

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

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// Control bytes (and DEL) become spaces: the text may be sent on as a reply.
void clean(std::string& s, size_t from) {
  for (size_t i = from; i < s.size(); ++i) {
    if (is_control(s[i])) s[i] = ' ';
  }
}
void append_clean(std::string& out, std::string_view text) {
  const size_t from = out.size();
  out.append(text);
  clean(out, from);
}
void assign_clean(std::string& out, std::string_view text) {
  // resize + memcpy: std::string::assign inlines a slow `rep movs` here.
  out.resize(text.size());
  if (!text.empty()) std::memcpy(out.data(), text.data(), text.size());
  clean(out, 0);
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

ReplyList::ReplyList(std::vector<Reply> per_recipient) : stored_(std::move(per_recipient)), of_(stored_.size()) {
  for (uint32_t i = 0; i < of_.size(); ++i) of_[i] = i;
}

void ReplyList::assign(size_t n, const Reply& r) {
  stored_.assign(1, r);
  of_.assign(n, 0);
}

void ReplyList::reset(size_t n) { assign(n, Reply{}); }

uint32_t ReplyList::add(Reply r) {
  stored_.push_back(std::move(r));
  return static_cast<uint32_t>(stored_.size() - 1);
}

bool operator==(const ReplyList& a, const ReplyList& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i])) return false;
  }
  return true;
}

bool operator==(const ReplyList& a, const std::vector<Reply>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i])) return false;
  }
  return true;
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
    const std::string_view piece = in.substr(0, take);
    in.remove_prefix(take);
    if (lf == std::string_view::npos) {
      partial_.append(piece);
      return Status::need_more;
    }
    Status s;
    if (partial_.empty()) {
      s = finish_line(piece);  // the whole line arrived together: not gathered first
    } else {
      partial_.append(piece);
      s = finish_line(partial_);
    }
    if (s != Status::need_more) return s;
  }
  return Status::need_more;
}

ReplyParser::Status ReplyParser::finish_line(std::string_view line) {
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
    used_lines_ = 0;
    complete_ = false;
  }
  if (used_lines_ != 0 && code != code_) return fail("reply code changes inside a multi-line reply");
  if (used_lines_ == kMaxReplyLines) return fail("too many lines in one reply");
  code_ = code;
  const std::string_view text = line.size() > kCodeLength + 1 ? line.substr(kCodeLength + 1) : std::string_view{};
  if (used_lines_ < lines_.size()) {
    assign_clean(lines_[used_lines_], text);
  } else {
    lines_.emplace_back();
    assign_clean(lines_.back(), text);
  }
  ++used_lines_;
  partial_.clear();
  if (!last) return Status::need_more;
  lines_.resize(used_lines_);  // drops only lines a longer reply left behind
  complete_ = true;
  return Status::reply;
}

Reply ReplyParser::take() {
  Reply reply;
  reply.code = code_;
  const int reply_class = code_ / 100;
  for (const std::string& l : lines_) {
    std::string_view t(l);
    const std::string_view enh = enhanced_code_prefix(t, reply_class);
    if (!enh.empty()) {
      if (reply.enhanced.empty()) reply.enhanced = enh;
      t.remove_prefix(enh.size());
      if (!t.empty()) t.remove_prefix(1);  // the space after the code
    }
    if (!reply.text.empty() && !t.empty()) reply.text += ' ';
    reply.text += t;
  }
  return reply;
}

}  // namespace listgate::delivery

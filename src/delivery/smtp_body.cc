// smtp_body.cc - the DATA phase: header prefix, body by reference, CR/LF repair.
//
// The repair is two steps per slice: find where bytes must be inserted (a
// scan carrying two bits of state across slices), then, only when there is
// something to insert, emit the slice as runs of original bytes with the
// insertions between them. A slice with nothing to insert goes out whole by
// reference, exactly like the clean path.
#include "listgate/delivery/smtp_body.h"

#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace listgate::delivery {
namespace {

constexpr std::string_view kCrLf = "\r\n";
constexpr std::string_view kDotLine = ".\r\n";

// Bytes to insert before position `pos` of a slice.
struct Insert {
  uint32_t pos = 0;
  std::string_view bytes;
};

// Carried from one slice to the next.
struct RepairState {
  bool pending_cr = false;  // the last byte was a CR whose LF may start the next slice
  bool line_start = false;  // the repair just ended a line: a '.' next must be stuffed
};

// Appends to the output and remembers the last two bytes of the message.
class Writer {
 public:
  Writer(OutputQueue& out, BodyStats& stats) : out_(out), stats_(stats) {}

  void owned(std::string_view bytes) {
    out_.append(bytes);
    note(bytes);
  }
  void inserted(std::string_view bytes) {
    stats_.inserted += bytes.size();
    owned(bytes);
  }
  void reference(const io::Slice& s) {
    stats_.referenced += s.length;
    out_.append(s);
    note(s.view());
  }
  // A run of a slice that needs repair: referenced when long, else copied.
  void run(const io::Slice& s, uint32_t from, uint32_t length) {
    if (length == 0) return;
    if (length >= kMinReferencedRun) {
      reference(s.sub(from, length));
      return;
    }
    stats_.copied += length;
    owned(s.view().substr(from, length));
  }
  bool ends_with_crlf() const { return seen_ >= 2 && tail_[0] == '\r' && tail_[1] == '\n'; }
  bool ends_with_cr() const { return seen_ >= 1 && tail_[1] == '\r'; }
  bool empty() const { return seen_ == 0; }

 private:
  void note(std::string_view bytes) {
    for (size_t i = bytes.size() > 2 ? bytes.size() - 2 : 0; i < bytes.size(); ++i) {
      tail_[0] = tail_[1];
      tail_[1] = bytes[i];
      if (seen_ < 2) ++seen_;
    }
  }

  OutputQueue& out_;
  BodyStats& stats_;
  char tail_[2] = {0, 0};
  int seen_ = 0;
};

// Where `bytes` needs insertions, given and updating the carried state.
void find_inserts(std::string_view bytes, RepairState& st, std::vector<Insert>& inserts) {
  inserts.clear();
  const size_t n = bytes.size();
  // What the first byte follows: a CR from the previous slice, or a repaired line end.
  if (st.pending_cr && bytes[0] != '\n') {
    inserts.push_back({0, bytes[0] == '.' ? "\n." : "\n"});
  } else if (st.line_start && bytes[0] == '.') {
    inserts.push_back({0, "."});
  }
  bool prev_cr = st.pending_cr;
  st.pending_cr = false;
  st.line_start = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = bytes[i];
    if (c == '\n') {
      if (!prev_cr) {
        inserts.push_back({static_cast<uint32_t>(i), "\r"});
        if (i + 1 < n) {
          if (bytes[i + 1] == '.') inserts.push_back({static_cast<uint32_t>(i + 1), "."});
        } else {
          st.line_start = true;
        }
      }
      prev_cr = false;
    } else if (c == '\r') {
      if (i + 1 < n) {
        if (bytes[i + 1] != '\n') {
          inserts.push_back({static_cast<uint32_t>(i + 1), bytes[i + 1] == '.' ? "\n." : "\n"});
        }
      } else {
        st.pending_cr = true;
      }
      prev_cr = true;
    } else {
      prev_cr = false;
    }
  }
}

void append_repaired(Writer& w, const io::SliceChain& body) {
  RepairState st;
  std::vector<Insert> inserts;
  for (const io::Slice& s : body) {
    if (s.empty()) continue;
    find_inserts(s.view(), st, inserts);
    if (inserts.empty()) {
      w.reference(s);
      continue;
    }
    uint32_t at = 0;
    for (const Insert& ins : inserts) {
      w.run(s, at, ins.pos - at);
      w.inserted(ins.bytes);
      at = ins.pos;
    }
    w.run(s, at, s.length - at);
  }
  if (st.pending_cr) w.inserted("\n");
}

// True when `prefix` needs no change (what listgate generates): every line
// ends in CRLF, no other CR or LF, and (when stuffing) no line starts with '.'.
bool prefix_ready(std::string_view prefix, bool stuff) {
  if (prefix.empty()) return true;
  if (!prefix.ends_with(kCrLf)) return false;
  size_t start = 0;
  while (start < prefix.size()) {
    if (stuff && prefix[start] == '.') return false;
    const size_t lf = prefix.find('\n', start);  // there is one: the prefix ends in CRLF
    if (lf == start || prefix[lf - 1] != '\r') return false;
    if (prefix.substr(start, lf - 1 - start).find('\r') != std::string_view::npos) return false;
    start = lf + 1;
  }
  return true;
}

std::string normalized_prefix(std::string_view prefix, bool stuff) {
  // Every transaction of a fan-out converts the same prefix: the common
  // case is a plain copy.
  if (prefix_ready(prefix, stuff)) return std::string(prefix);
  std::string out;
  out.reserve(prefix.size() + kCrLf.size());
  bool line_start = true;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char c = prefix[i];
    if (c == '\r' || c == '\n') {
      out += kCrLf;
      if (c == '\r' && i + 1 < prefix.size() && prefix[i + 1] == '\n') ++i;
      line_start = true;
      continue;
    }
    if (stuff && line_start && c == '.') out += '.';
    out += c;
    line_start = false;
  }
  if (!line_start) out += kCrLf;
  return out;
}

// Positions in `bytes` of line-start dots: a '.' after an LF, or at 0 when
// the previous slice ended a line. Sixteen bytes a step: this runs over
// every relayed body, which has a handful of such dots at most.
void find_line_dots(std::string_view bytes, bool line_start, std::vector<uint32_t>& dots) {
  dots.clear();
  const size_t n = bytes.size();
  if (n == 0) return;
  if (line_start && bytes[0] == '.') dots.push_back(0);
  size_t i = 1;
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i dot = _mm_set1_epi8('.');
  for (; i + sizeof(__m128i) <= n; i += sizeof(__m128i)) {
    const __m128i here = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes.data() + i));
    const __m128i before = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes.data() + i - 1));
    unsigned mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(here, dot), _mm_cmpeq_epi8(before, lf))));
    while (mask != 0) {
      dots.push_back(static_cast<uint32_t>(i + static_cast<size_t>(__builtin_ctz(mask))));
      mask &= mask - 1;
    }
  }
#endif
  for (; i < n; ++i) {
    if (bytes[i] == '.' && bytes[i - 1] == '\n') dots.push_back(static_cast<uint32_t>(i));
  }
}

}  // namespace

std::string wire_header_prefix(std::string_view prefix) { return normalized_prefix(prefix, true); }

std::string chunk_header_prefix(std::string_view prefix) { return normalized_prefix(prefix, false); }

BodyStats append_unstuffed_message(OutputQueue& out, std::string_view chunk_prefix, const io::SliceChain* body) {
  BodyStats stats;
  Writer w(out, stats);
  w.owned(chunk_prefix);
  if (body != nullptr) {
    std::vector<uint32_t> dots;
    bool line_start = true;  // the body starts a line
    for (const io::Slice& s : *body) {
      if (s.empty()) continue;
      find_line_dots(s.view(), line_start, dots);
      uint32_t at = 0;
      for (uint32_t d : dots) {
        if (d > at) w.reference(s.sub(at, d - at));
        at = d + 1;
      }
      if (at < s.length) w.reference(s.sub(at, s.length - at));
      line_start = s.view().back() == '\n';
    }
  }
  if (!w.empty() && !w.ends_with_crlf()) w.inserted(w.ends_with_cr() ? "\n" : "\r\n");
  return stats;
}

BodyStats append_message(OutputQueue& out, std::string_view wire_prefix, const io::SliceChain* body, bool repair) {
  BodyStats stats;
  Writer w(out, stats);
  w.owned(wire_prefix);
  if (body != nullptr) {
    if (repair) {
      append_repaired(w, *body);
    } else {
      for (const io::Slice& s : *body) {
        if (!s.empty()) w.reference(s);
      }
    }
  }
  if (!w.empty() && !w.ends_with_crlf()) w.inserted(w.ends_with_cr() ? "\n" : "\r\n");
  out.append(kDotLine);
  return stats;
}

}  // namespace listgate::delivery

// smtp_body.cc - the DATA phase: header prefix, body by reference, CR/LF repair.
//
// The repair is two steps per slice: find where bytes must be inserted (a
// scan carrying two bits of state across slices), then, only when there is
// something to insert, emit the slice as runs of original bytes with the
// insertions between them. A slice with nothing to insert goes out whole by
// reference, exactly like the clean path.
#include "listgate/delivery/smtp_body.h"

#include <vector>

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

// True when `prefix` is in wire form already (what listgate generates):
// every line ends in CRLF, no other CR or LF, no line starts with '.'.
bool in_wire_form(std::string_view prefix) {
  if (prefix.empty()) return true;
  if (!prefix.ends_with(kCrLf)) return false;
  size_t start = 0;
  while (start < prefix.size()) {
    if (prefix[start] == '.') return false;
    const size_t lf = prefix.find('\n', start);  // there is one: the prefix ends in CRLF
    if (lf == start || prefix[lf - 1] != '\r') return false;
    if (prefix.substr(start, lf - 1 - start).find('\r') != std::string_view::npos) return false;
    start = lf + 1;
  }
  return true;
}

}  // namespace

std::string wire_header_prefix(std::string_view prefix) {
  // Every transaction of a fan-out converts the same prefix: the common
  // case is a plain copy.
  if (in_wire_form(prefix)) return std::string(prefix);
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
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = false;
  }
  if (!line_start) out += kCrLf;
  return out;
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

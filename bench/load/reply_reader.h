// reply_reader.h - SMTP/LMTP reply lines out of a byte stream.
//
// Bytes go in as they arrive, split anywhere; every complete line comes out
// with its code and whether it ends its reply ("250-..." continues a
// multi-line reply, "250 ..." or "250" ends it). A line that lies whole in
// the chunk fed is handed out in place; only a line split across chunks is
// copied (and kept to kMaxKeptLine bytes; the code is read all the same).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace listgate::loadbench {

struct ReplyLine {
  uint16_t code = 0;      // 100..599; 0 when the line is not a reply line
  bool last = true;       // ends its reply
  std::string_view text;  // the line without CRLF/LF (valid during the callback)
};

class ReplyReader {
 public:
  static constexpr size_t kMaxKeptLine = 4096;

  // Calls on_line(const ReplyLine&) for every line completed by `bytes`;
  // on_line returns false to stop (the rest of `bytes` is dropped).
  // Returns false when it was stopped.
  template <class OnLine>
  bool feed(std::string_view bytes, OnLine&& on_line) {
    while (!bytes.empty()) {
      const void* nl = std::memchr(bytes.data(), '\n', bytes.size());
      if (nl == nullptr) {
        keep(bytes);
        return true;
      }
      const size_t len = static_cast<size_t>(static_cast<const char*>(nl) - bytes.data());
      std::string_view line = bytes.substr(0, len);
      bytes.remove_prefix(len + 1);
      if (!partial_.empty()) {
        keep(line);
        line = partial_;
      }
      const bool go_on = on_line(parse_line(line));
      partial_.clear();
      if (!go_on) return false;
    }
    return true;
  }

  // Bytes of an unfinished line are waiting.
  bool mid_line() const { return !partial_.empty(); }

  // Reads code and continuation mark of one line (without its LF).
  static ReplyLine parse_line(std::string_view line);

 private:
  void keep(std::string_view bytes);
  std::string partial_;
};

}  // namespace listgate::loadbench

// message_id.h - the Message-ID of a message, read from its header block.
//
// The header block is the body up to its first empty line, and it may be
// split over any number of receive buffers, so HeaderCollector copies body
// bytes until it has seen CRLF CRLF (or a cap, or the end of the message);
// only the header bytes are ever copied, never the body proper. The value is
// then parsed from the complete lines: the first `Message-ID:` field (name
// case ignored), unfolded, with all whitespace removed so it is one token
// in the record file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace listgate::sink {

// Headers beyond this are not looked at (the Message-ID then may be missed).
inline constexpr size_t kMaxHeaderBytes = 64 * 1024;

class HeaderCollector {
 public:
  void reset() {
    bytes_.clear();
    done_ = false;
  }
  // Body bytes in wire form, in order. Stops copying once the block is complete.
  void add(std::string_view bytes);
  bool done() const { return done_; }
  // The header block so far (complete once done()).
  std::string_view block() const { return bytes_; }

 private:
  std::string bytes_;
  bool done_ = false;
};

// Writes the Message-ID value of `header_block` into `out` (cleared first);
// leaves it empty when there is none. Only complete lines are read.
void find_message_id(std::string_view header_block, std::string& out);

}  // namespace listgate::sink

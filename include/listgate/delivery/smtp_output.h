// smtp_output.h - what the SMTP client wants written, in segments.
//
// A message body goes out from the receive buffers it arrived in: the client
// never copies it into an output string. So its output is a list of
// segments, each either owned bytes (commands, generated headers, the
// terminating dot, the few bytes a CR/LF repair inserts) or an io::Slice by
// reference. The owner drains the list and hands each segment to
// io::Connection::write(std::string_view) or write(io::Slice). Owned bytes
// written back to back share one segment, so a pipelined command group is
// one write.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "listgate/io/buffer.h"

namespace listgate::delivery {

struct OutSegment {
  std::string bytes;  // owned bytes, when !is_slice
  io::Slice slice;    // a body slice sent by reference, when is_slice
  bool is_slice = false;

  size_t size() const { return is_slice ? slice.length : bytes.size(); }
  std::string_view view() const { return is_slice ? slice.view() : std::string_view(bytes); }
};

class OutputQueue {
 public:
  // Appends owned bytes (to the last segment when that one is owned too).
  void append(std::string_view bytes) {
    if (bytes.empty()) return;
    if (segments_.empty() || segments_.back().is_slice) segments_.emplace_back();
    segments_.back().bytes.append(bytes);
    size_ += bytes.size();
  }
  // The same, taking the string over when it starts a segment (a command
  // group of a fan-out is tens of kilobytes: not copied once more).
  void append(std::string&& bytes) {
    if (bytes.empty()) return;
    if (!segments_.empty() && !segments_.back().is_slice) {
      append(std::string_view(bytes));
      return;
    }
    size_ += bytes.size();
    segments_.emplace_back();
    segments_.back().bytes = std::move(bytes);
  }
  // Appends a slice by reference (empty slices are dropped).
  void append(io::Slice slice) {
    if (slice.empty()) return;
    size_ += slice.length;
    OutSegment s;
    s.slice = std::move(slice);
    s.is_slice = true;
    segments_.push_back(std::move(s));
  }
  // Moves another queue's segments to the end of this one.
  void append(OutputQueue&& other) {
    for (OutSegment& s : other.segments_) {
      if (s.is_slice) {
        append(std::move(s.slice));
      } else {
        append(std::move(s.bytes));
      }
    }
    other.clear();
  }
  bool empty() const { return segments_.empty(); }
  size_t size() const { return size_; }  // bytes in all segments
  std::vector<OutSegment> take() {
    size_ = 0;
    return std::exchange(segments_, {});
  }
  void clear() {
    segments_.clear();
    size_ = 0;
  }

 private:
  std::vector<OutSegment> segments_;
  size_t size_ = 0;
};

}  // namespace listgate::delivery

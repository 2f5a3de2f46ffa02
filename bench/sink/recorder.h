// recorder.h - the --record file: one line per recipient of every accepted message.
//
//   MESSAGE_ID RCPT MAIL_FROM BODY_BYTES\n
//
// Lines are appended to a buffer as messages are accepted and written with
// one write(2) per flush; the server flushes in the same loop turn (before
// that turn's replies are sent) and before answering `stats`, so a test
// that saw "250" or asks `stats` finds the lines on disk. Fields never hold
// spaces: bytes outside 0x21..0x7e and '\' are written as \xHH; an absent
// Message-ID is "-", the null sender "<>". The file is opened for appending
// (created if missing, never truncated).
#pragma once

#include <string>

#include "listgate/base/result.h"
#include "session.h"

namespace listgate::sink {

// Appends the lines for `m` to `out` (needs track_envelope).
void append_record_lines(std::string& out, const AcceptedMessage& m);

class Recorder {
 public:
  Recorder() = default;
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  Result<void> open(const std::string& path);
  bool is_open() const { return fd_ >= 0; }
  void add(const AcceptedMessage& m) { append_record_lines(buffer_, m); }
  bool pending() const { return !buffer_.empty(); }
  // Writes what is buffered; on error the lines are dropped and the error returned.
  Result<void> flush();

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace listgate::sink

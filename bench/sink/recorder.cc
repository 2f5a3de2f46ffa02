// recorder.cc - record lines and their buffered appends (see recorder.h).
#include "recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "listgate/base/concat.h"

namespace listgate::sink {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr int kFileMode = 0644;

void append_field(std::string& out, std::string_view s, std::string_view if_empty) {
  if (s.empty()) {
    out.append(if_empty);
    return;
  }
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '\\') {
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

}  // namespace

void append_record_lines(std::string& out, const AcceptedMessage& m) {
  char size[24];
  const auto r = std::to_chars(size, size + sizeof size, m.body_bytes);
  for (std::string_view rcpt : m.recipients) {
    append_field(out, m.message_id, "-");
    out.push_back(' ');
    append_field(out, rcpt, "-");
    out.push_back(' ');
    append_field(out, m.mail_from, "<>");
    out.push_back(' ');
    out.append(size, r.ptr);
    out.push_back('\n');
  }
}

Recorder::~Recorder() {
  if (fd_ >= 0) {
    (void)flush();
    ::close(fd_);
  }
}

Result<void> Recorder::open(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, kFileMode);
  if (fd_ < 0) return make_error(concat({"cannot open record file ", path, ": ", std::strerror(errno)}));
  return {};
}

Result<void> Recorder::flush() {
  if (fd_ < 0) {
    buffer_.clear();
    return {};
  }
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      buffer_.clear();
      return make_error(concat({"record file write: ", std::strerror(err)}));
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return {};
}

}  // namespace listgate::sink

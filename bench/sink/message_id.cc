// message_id.cc - header block collection and the Message-ID field.
#include "message_id.h"

namespace listgate::sink {
namespace {

constexpr std::string_view kEmptyLine = "\r\n\r\n";
constexpr std::string_view kFieldName = "message-id:";

bool starts_with_ignoring_case(std::string_view s, std::string_view lower_prefix) {
  if (s.size() < lower_prefix.size()) return false;
  for (size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i]) return false;
  }
  return true;
}

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void append_without_space(std::string& out, std::string_view s) {
  for (char c : s) {
    if (!is_wsp(c)) out.push_back(c);
  }
}

}  // namespace

void HeaderCollector::add(std::string_view bytes) {
  if (done_ || bytes.empty()) return;
  const size_t before = bytes_.size();
  const size_t room = kMaxHeaderBytes - before;
  bytes_.append(bytes.data(), bytes.size() < room ? bytes.size() : room);
  // A body that starts with an empty line has no header block.
  if (bytes_.size() >= 2 && bytes_[0] == '\r' && bytes_[1] == '\n') {
    bytes_.clear();
    done_ = true;
    return;
  }
  const size_t from = before >= kEmptyLine.size() - 1 ? before - (kEmptyLine.size() - 1) : 0;
  const size_t at = bytes_.find(kEmptyLine, from);
  if (at != std::string::npos) {
    bytes_.resize(at + 2);  // keep the last field's CRLF
    done_ = true;
  } else if (bytes_.size() >= kMaxHeaderBytes) {
    done_ = true;
  }
}

void find_message_id(std::string_view block, std::string& out) {
  out.clear();
  size_t pos = 0;
  bool in_field = false;
  while (pos < block.size()) {
    const size_t nl = block.find('\n', pos);
    if (nl == std::string_view::npos) break;  // an incomplete line
    std::string_view line = block.substr(pos, nl - pos);
    pos = nl + 1;
    if (in_field) {
      if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
        append_without_space(out, line);
        continue;
      }
      return;
    }
    if (starts_with_ignoring_case(line, kFieldName)) {
      in_field = true;
      append_without_space(out, line.substr(kFieldName.size()));
    }
  }
  if (!in_field) out.clear();
}

}  // namespace listgate::sink

// reply_reader.cc - see reply_reader.h.
#include "reply_reader.h"

#include <algorithm>

namespace listgate::loadbench {

ReplyLine ReplyReader::parse_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  ReplyLine r;
  r.text = line;
  const auto digit = [&](size_t i) { return line[i] >= '0' && line[i] <= '9'; };
  if (line.size() < 3 || !digit(0) || !digit(1) || !digit(2) || line[0] < '1' || line[0] > '5') return r;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return r;
  r.code = static_cast<uint16_t>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
  r.last = line.size() == 3 || line[3] == ' ';
  return r;
}

void ReplyReader::keep(std::string_view bytes) {
  const size_t room = kMaxKeptLine - std::min(kMaxKeptLine, partial_.size());
  // room is 0 only once kMaxKeptLine bytes are kept, so a pending line
  // always leaves partial_ non-empty.
  partial_.append(bytes.substr(0, std::min(room, bytes.size())));
}

}  // namespace listgate::loadbench

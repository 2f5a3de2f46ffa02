// control_protocol.cc - parsing control lines (see control_protocol.h).
#include "control_protocol.h"

#include <string>

#include "listgate/base/concat.h"

namespace listgate::sink {
namespace {

constexpr size_t kMaxWords = 4;

struct Words {
  std::string_view w[kMaxWords];
  size_t n = 0;
  bool too_many = false;
};

Words split(std::string_view line) {
  Words words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) break;
    size_t end = i;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    if (words.n == kMaxWords) {
      words.too_many = true;
      break;
    }
    words.w[words.n++] = line.substr(i, end - i);
    i = end;
  }
  return words;
}

Error usage(std::string_view what) { return make_error(concat({"usage: ", what})); }

}  // namespace

Result<ControlRequest> parse_control_line(std::string_view line) {
  const Words words = split(line);
  if (words.n == 0) return make_error("empty command");
  if (words.too_many) return make_error("too many words");
  const std::string_view verb = words.w[0];
  ControlRequest r;
  auto no_args = [&](ControlVerb v) -> Result<ControlRequest> {
    if (words.n != 1) return make_error(concat({verb, " takes no argument"}));
    r.verb = v;
    return r;
  };
  if (verb == "set") {
    if (words.n != 3) return usage("set NAME VALUE");
    r.verb = ControlVerb::set;
    r.name = words.w[1];
    r.value = words.w[2];
    return r;
  }
  if (verb == "clear") {
    if (words.n > 2 || (words.n == 2 && words.w[1] != "fail-rcpt")) return usage("clear [fail-rcpt]");
    r.verb = ControlVerb::clear;
    if (words.n == 2) r.name = words.w[1];
    return r;
  }
  if (verb == "down") {
    if (words.n > 2 || (words.n == 2 && words.w[1] != "421")) return usage("down [421]");
    r.verb = ControlVerb::down;
    r.refuse_421 = words.n == 2;
    return r;
  }
  if (verb == "faults") return no_args(ControlVerb::faults);
  if (verb == "stats") return no_args(ControlVerb::stats);
  if (verb == "reset-stats") return no_args(ControlVerb::reset_stats);
  if (verb == "up") return no_args(ControlVerb::up);
  if (verb == "last") return no_args(ControlVerb::last);
  if (verb == "quit") return no_args(ControlVerb::quit);
  return make_error(concat({"unknown command '", verb, "'"}));
}

}  // namespace listgate::sink

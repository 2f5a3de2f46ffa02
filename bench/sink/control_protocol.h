// control_protocol.h - the sink's control interface: one command per line.
//
// A test drives the sink over a second TCP port with short text lines
// (README.md "Control protocol"): `set NAME VALUE`, `clear`, `faults`,
// `stats`, `reset-stats`, `down`, `up`, `last`, `quit`. Each is answered
// with one line starting `ok` or `err` (`last` adds the body's bytes after
// its line). This file only parses; the server carries the commands out,
// because half of them touch sockets.
#pragma once

#include <cstdint>
#include <string_view>

#include "listgate/base/result.h"

namespace listgate::sink {

// A control line longer than this is refused and the connection closed.
inline constexpr size_t kMaxControlLine = 4096;

enum class ControlVerb : uint8_t { set, clear, faults, stats, reset_stats, down, up, last, quit };

struct ControlRequest {
  ControlVerb verb = ControlVerb::stats;
  std::string_view name;    // set: the fault; clear: "fail-rcpt" or empty
  std::string_view value;   // set: the value
  bool refuse_421 = false;  // `down 421`: keep listening, answer new connections 421
};

// `line` without its line end. Errors are the text after "err ".
Result<ControlRequest> parse_control_line(std::string_view line);

}  // namespace listgate::sink

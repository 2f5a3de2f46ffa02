// options.h - the command line of listgate-sink.
//
// Parsed into plain values here (no sockets), so the flags are unit-tested;
// fault flags go through FaultEngine::set, the same code the control
// interface's `set` uses, so a flag and a control command never disagree.
// README.md "Flags" is the reference; keep it in step.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "faults.h"
#include "listgate/app/config.h"
#include "listgate/base/result.h"
#include "session.h"

namespace listgate::sink {

inline constexpr uint16_t kDefaultSmtpPort = 2525;

struct SinkArgs {
  app::Address listen{app::Address::Kind::tcp, "127.0.0.1", kDefaultSmtpPort, {}};
  std::optional<app::Address> control;  // off unless --control
  app::IoBackend io = app::IoBackend::automatic;
  SessionOptions session;
  Faults faults;
  uint64_t seed = kDefaultSeed;
  std::string record_file;  // empty: no record
  bool help = false;
};

std::string_view sink_usage();

// The words after the program name. `--flag VALUE` and `--flag=VALUE` both
// work; a flag given twice takes its last value, except --fail-rcpt, which
// adds a rule each time.
Result<SinkArgs> parse_sink_args(int argc, const char* const* argv);

}  // namespace listgate::sink

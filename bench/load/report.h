// report.h - the result of a run, as text for people or one JSON object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "load_runner.h"
#include "options.h"

namespace listgate::loadbench {

// What e2e measures on the gateway besides the load's own numbers.
struct GatewayReport {
  std::string mode;                    // "relay" or "discard"
  std::string listgate_io;             // backend listgate logged
  std::string sink_io;                 // backend the sink logged ("" with --discard)
  std::optional<uint64_t> member_deliveries;  // sink rcpt_accepted delta
  std::optional<uint64_t> listgate_delivered; // listgate_deliveries_total{result="delivered"} delta
  double cpu_seconds = 0;              // listgate utime+stime during the load
  uint64_t peak_rss_kib = 0;           // listgate VmHWM after the load
};

struct Report {
  std::string command;   // "load" or "e2e"
  std::string target;    // the LMTP address
  const LoadOptions* options = nullptr;
  const RunResult* run = nullptr;
  std::optional<GatewayReport> gateway;
};

std::string format_text(const Report& r);
std::string format_json(const Report& r);

// A JSON string literal (quotes included; listgate/base/json_string.h).
std::string json_string(std::string_view text);

}  // namespace listgate::loadbench

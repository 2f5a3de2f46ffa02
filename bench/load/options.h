// options.h - the command line of listgate-bench.
//
//   listgate-bench load [flags]   LMTP load against a running server
//   listgate-bench e2e [flags]    sink + listgate started here, then the load
//
// Parsed into plain values (no sockets, no files read), so every flag is
// unit-tested. README.md in this folder is the reference; keep it in step.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/app/config.h"
#include "listgate/base/result.h"
#include "size_distribution.h"

namespace listgate::loadbench {

inline constexpr std::chrono::milliseconds kDefaultDuration{10'000};

// Flags both commands take: the shape of the load and the output.
struct LoadOptions {
  std::optional<app::Address> lmtp;  // load: the server (required)
  std::string table;                 // load: recipients from this table; e2e: the table listgate serves
  std::vector<std::string> to;       // load: recipients given
  uint32_t connections = 16;
  SizeDistribution size;             // 4096
  uint32_t rcpts = 1;
  double unknown = 0;                // share of RCPTs to addresses not in the table
  std::chrono::milliseconds duration = kDefaultDuration;
  uint64_t messages = 0;             // > 0: this many messages instead of a duration
  app::IoBackend io = app::IoBackend::automatic;
  bool overlap = true;               // next envelope behind the final dot
  uint64_t seed = 1;
  int cpu = -1;                      // pin the load generator to this CPU
  bool json = false;
  std::string plot;                  // SVG file; empty: none
  bool quiet = false;                // no progress on stderr
};

struct E2eOptions {
  std::string listgate;              // binaries; empty: from this program's build dir
  std::string sink;
  bool discard = false;              // listgate serve --discard, no sink
  uint32_t lists = 0;                // > 0: a generated table of `lists` lists ...
  uint32_t members = 10;             // ... of `members` members each
  int listgate_cpu = -1;
  int sink_cpu = -1;
  bool keep = false;                 // keep the temporary directory
};

struct BenchArgs {
  enum class Command { load, e2e, help };
  Command command = Command::help;
  LoadOptions load;
  E2eOptions e2e;
};

std::string_view bench_usage();

// The words after the program name. `--flag VALUE` and `--flag=VALUE` both
// work; a flag given twice takes its last value.
Result<BenchArgs> parse_bench_args(int argc, const char* const* argv);

// `10s`, `500ms`, `2m`, `1.5s`; a bare number is seconds. 1 ms to 24 h.
Result<std::chrono::milliseconds> parse_run_duration(std::string_view text);

}  // namespace listgate::loadbench

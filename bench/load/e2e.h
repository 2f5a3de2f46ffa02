// e2e.h - `listgate-bench e2e`: the whole gateway under load.
//
// In a temporary directory: start listgate-sink (unless --discard), write
// the table (backends pointed at the sink) and a config, start
// `listgate serve`, read both servers' counters, run the load against
// listgate, read the counters again (sink rcpt_accepted, listgate's
// deliveries, CPU time and peak RSS from /proc), stop both, report.
#pragma once

#include "options.h"

namespace listgate::loadbench {

// Returns the exit status: 0 ok, 1 failed (a server misbehaved, errors in the load).
int run_e2e_command(const LoadOptions& load, const E2eOptions& e2e);

}  // namespace listgate::loadbench

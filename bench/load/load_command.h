// load_command.h - `listgate-bench load`, and the pieces e2e shares with it.
#pragma once

#include <memory>

#include "listgate/base/result.h"
#include "load_runner.h"
#include "options.h"
#include "recipients.h"
#include "report.h"
#include "workload.h"

namespace listgate::loadbench {

Result<std::unique_ptr<Workload>> build_workload(const LoadOptions& o, const Recipients& recipients);
RunSettings run_settings(const LoadOptions& o, const app::Address& target);
// Runs the load with the progress display the options ask for.
Result<RunResult> run_with_progress(const LoadOptions& o, const app::Address& target, Workload& workload);
// Prints the report (text or JSON) on stdout and writes the plot if asked.
Result<void> publish(const Report& report);
// 0 when transactions were answered, all as planned and without errors, else 1.
int exit_status(const RunResult& run);

Result<void> pin_self_to_cpu(int cpu);

// The whole `load` command; returns the exit status.
int run_load_command(const LoadOptions& o);

}  // namespace listgate::loadbench

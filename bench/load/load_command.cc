// load_command.cc - see load_command.h.
#include "load_command.h"

#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "listgate/base/concat.h"
#include "progress.h"
#include "svg_plot.h"

namespace listgate::loadbench {

Result<std::unique_ptr<Workload>> build_workload(const LoadOptions& o, const Recipients& recipients) {
  WorkloadSpec spec;
  spec.known = recipients.known;
  spec.unknown = recipients.unknown;
  spec.rcpts_per_message = o.rcpts;
  spec.unknown_share = o.unknown;
  spec.sizes = o.size;
  spec.message_limit = o.messages;
  spec.seed = o.seed;
  return Workload::build(spec);
}

RunSettings run_settings(const LoadOptions& o, const app::Address& target) {
  RunSettings s;
  s.target = target;
  s.connections = o.connections;
  s.io = o.io;
  s.duration = o.messages > 0 ? std::chrono::milliseconds(0) : o.duration;
  s.overlap = o.overlap;
  return s;
}

Result<RunResult> run_with_progress(const LoadOptions& o, const app::Address& target, Workload& workload) {
  const RunSettings settings = run_settings(o, target);
  ProgressDisplay progress(ProgressDisplay::mode_for_stderr(o.quiet),
                           static_cast<double>(settings.duration.count()) / 1000, o.messages,
                           static_cast<double>(settings.tick.count()) / 1000);
  return run_load(settings, workload, &progress);
}

Result<void> publish(const Report& report) {
  const std::string text = report.options->json ? format_json(report) : format_text(report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  if (report.options->plot.empty()) return {};
  const RunResult& run = *report.run;
  const std::string title = "listgate-bench " + report.command + ": " + std::to_string(report.options->connections) +
                            " connections, " + std::to_string(report.options->rcpts) + " rcpt/msg, size " +
                            report.options->size.describe() + " (" + run.backend + ")";
  const std::string svg =
      throughput_svg(run.completed_per_tick, static_cast<double>(run.tick.count()) / 1000, title);
  std::ofstream f(report.options->plot, std::ios::binary | std::ios::trunc);
  f << svg;
  f.close();
  if (!f) return make_error(concat({"cannot write ", report.options->plot}));
  return {};
}

int exit_status(const RunResult& run) {
  const LoadCounters& c = run.counters;
  const bool answered = c.messages_completed + c.messages_no_recipient > 0;
  return answered && c.errors() == 0 && c.wrong_replies() == 0 ? 0 : 1;
}

Result<void> pin_self_to_cpu(int cpu) {
  if (cpu < 0) return {};
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0) {
    return make_error(concat({"cannot pin to CPU ", std::to_string(cpu), ": ", std::strerror(errno)}));
  }
  return {};
}

int run_load_command(const LoadOptions& o) {
  auto fail = [](const Error& e) {
    std::fprintf(stderr, "listgate-bench load: %s\n", e.message.c_str());
    return 1;
  };
  if (auto pinned = pin_self_to_cpu(o.cpu); !pinned.ok()) return fail(pinned.error());
  auto recipients = o.table.empty() ? recipients_from_list(o.to) : recipients_from_table(o.table);
  if (!recipients.ok()) return fail(recipients.error());
  auto workload = build_workload(o, *recipients);
  if (!workload.ok()) return fail(workload.error());
  auto run = run_with_progress(o, *o.lmtp, **workload);
  if (!run.ok()) return fail(run.error());
  Report report{"load", o.lmtp->to_string(), &o, &run.value(), std::nullopt};
  if (auto published = publish(report); !published.ok()) return fail(published.error());
  return exit_status(*run);
}

}  // namespace listgate::loadbench

// load_runner.h - runs ClientSessions over real sockets on the project's reactor.
//
// One thread, one reactor (io_uring or epoll), `connections` sessions
// opened at once. Every `tick` the number of messages completed is
// sampled (the throughput timeline) and the observer is told. When the
// duration is over (or the workload's message budget is spent) no new
// transactions start; sessions finish what is in flight and QUIT. Sessions
// still busy `drain_timeout` later are given up.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "latency_histogram.h"
#include "listgate/app/config.h"
#include "listgate/base/result.h"
#include "load_counters.h"
#include "workload.h"

namespace listgate::loadbench {

struct RunSettings {
  app::Address target;
  uint32_t connections = 16;
  app::IoBackend io = app::IoBackend::automatic;
  std::chrono::milliseconds duration{0};  // 0: until the workload's budget is spent
  bool overlap = true;
  std::chrono::milliseconds tick{100};
  std::chrono::milliseconds drain_timeout{10'000};
};

struct RunResult {
  LoadCounters counters;
  LatencyHistogram latency;
  std::vector<uint64_t> completed_per_tick;  // messages completed in each full tick
  uint64_t completed_after_last_tick = 0;    // ... and in the part of a tick at the end
  std::chrono::milliseconds tick{100};
  double seconds = 0;       // from the first connect to the last completed message
  std::string backend;      // "io_uring" or "epoll"
  std::vector<std::string> first_errors;  // the first few, for the report

  double messages_per_second() const { return seconds > 0 ? counters.messages_completed / seconds : 0; }
  double recipients_per_second() const { return seconds > 0 ? counters.rcpt_accepted / seconds : 0; }
};

// Told every tick while the load runs (on the load's thread).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_tick(double elapsed_seconds, const LoadCounters& counters, uint64_t completed_last_tick) = 0;
  virtual void on_end() {}
};

// `workload` must outlive the call (the reactor's queues hold its slices).
Result<RunResult> run_load(const RunSettings& settings, Workload& workload, RunObserver* observer);

}  // namespace listgate::loadbench

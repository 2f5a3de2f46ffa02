// progress.h - what the user sees on stderr while a run goes on.
//
// On a terminal, a bar redrawn every tick (time or messages done, msgs/s
// over the last second); otherwise one line per second, so logs of
// scripted runs stay readable. --quiet shows nothing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>

#include "load_runner.h"

namespace listgate::loadbench {

class ProgressDisplay final : public RunObserver {
 public:
  enum class Mode { bar, lines, off };
  // Mode for stderr: off when quiet, bar on a terminal, else lines.
  static Mode mode_for_stderr(bool quiet);

  // The run ends after `total_seconds` (> 0) or `total_messages` (> 0).
  ProgressDisplay(Mode mode, double total_seconds, uint64_t total_messages, double tick_seconds,
                  std::FILE* out = stderr);

  void on_tick(double elapsed_seconds, const LoadCounters& counters, uint64_t completed_last_tick) override;
  void on_end() override;

 private:
  double recent_rate() const;

  Mode mode_;
  double total_seconds_;
  uint64_t total_messages_;
  double tick_seconds_;
  std::FILE* out_;
  std::deque<uint64_t> recent_;  // completed per tick, the last second's worth
  double next_line_at_ = 1.0;
  bool drawn_ = false;
};

}  // namespace listgate::loadbench

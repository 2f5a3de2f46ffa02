// progress.cc - see progress.h.
#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace listgate::loadbench {
namespace {
constexpr int kBarWidth = 30;
}  // namespace

ProgressDisplay::Mode ProgressDisplay::mode_for_stderr(bool quiet) {
  if (quiet) return Mode::off;
  return ::isatty(STDERR_FILENO) ? Mode::bar : Mode::lines;
}

ProgressDisplay::ProgressDisplay(Mode mode, double total_seconds, uint64_t total_messages, double tick_seconds,
                                 std::FILE* out)
    : mode_(mode),
      total_seconds_(total_seconds),
      total_messages_(total_messages),
      tick_seconds_(tick_seconds),
      out_(out) {}

double ProgressDisplay::recent_rate() const {
  if (recent_.empty()) return 0;
  uint64_t sum = 0;
  for (uint64_t n : recent_) sum += n;
  return static_cast<double>(sum) / (static_cast<double>(recent_.size()) * tick_seconds_);
}

void ProgressDisplay::on_tick(double elapsed, const LoadCounters& c, uint64_t completed_last_tick) {
  if (mode_ == Mode::off) return;
  recent_.push_back(completed_last_tick);
  const auto per_second = static_cast<size_t>(std::max(1.0, std::round(1.0 / tick_seconds_)));
  while (recent_.size() > per_second) recent_.pop_front();

  if (mode_ == Mode::lines) {
    if (elapsed + tick_seconds_ / 2 < next_line_at_) return;
    next_line_at_ += 1.0;
    std::fprintf(out_, "listgate-bench: t=%.0fs messages=%llu msgs_per_s=%.0f rcpt_accepted=%llu errors=%llu\n",
                 elapsed, static_cast<unsigned long long>(c.messages_completed), recent_rate(),
                 static_cast<unsigned long long>(c.rcpt_accepted), static_cast<unsigned long long>(c.errors()));
    std::fflush(out_);
    return;
  }
  double done = total_seconds_ > 0 ? elapsed / total_seconds_
                                   : static_cast<double>(c.messages_completed) / static_cast<double>(total_messages_);
  done = std::clamp(done, 0.0, 1.0);
  const int filled = static_cast<int>(done * kBarWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kBarWidth - filled), '.');
  std::fprintf(out_, "\r[%s] %3.0f%%  %6.1f s  %10llu msgs  %9.0f msgs/s  errors %llu\033[K", bar.c_str(),
               done * 100, elapsed, static_cast<unsigned long long>(c.messages_completed), recent_rate(),
               static_cast<unsigned long long>(c.errors()));
  std::fflush(out_);
  drawn_ = true;
}

void ProgressDisplay::on_end() {
  if (mode_ == Mode::bar && drawn_) {
    std::fputs("\r\033[K", out_);
    std::fflush(out_);
  }
}

}  // namespace listgate::loadbench

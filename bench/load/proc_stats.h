// proc_stats.h - a process's CPU time and peak memory, from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "listgate/base/result.h"

namespace listgate::loadbench {

// utime + stime of all its threads, in seconds (/proc/PID/stat, clock ticks).
Result<double> process_cpu_seconds(pid_t pid);
// VmHWM: the peak resident set size, in KiB (/proc/PID/status).
Result<uint64_t> process_peak_rss_kib(pid_t pid);

// utime + stime in clock ticks from the text of /proc/PID/stat (fields 14
// and 15, counted after the ")" that ends the command name, which may hold
// spaces and parentheses itself).
std::optional<uint64_t> parse_stat_cpu_ticks(std::string_view stat);
// The number of a "Key:   123 kB" line of /proc/PID/status.
std::optional<uint64_t> parse_status_kib(std::string_view status, std::string_view key);

}  // namespace listgate::loadbench

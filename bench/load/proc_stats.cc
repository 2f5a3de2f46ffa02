// proc_stats.cc - see proc_stats.h.
#include "proc_stats.h"

#include <unistd.h>

#include <charconv>
#include <string>

#include "child_process.h"
#include "listgate/base/concat.h"

namespace listgate::loadbench {
namespace {

std::optional<uint64_t> parse_number(std::string_view text) {
  uint64_t v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc()) return std::nullopt;
  return v;
}

// The n-th space-separated field of `text` (0-based).
std::string_view field(std::string_view text, size_t n) {
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    at = text.find(' ', at);
    if (at == std::string_view::npos) return {};
    ++at;
  }
  const size_t end = text.find(' ', at);
  return text.substr(at, end == std::string_view::npos ? text.npos : end - at);
}

}  // namespace

std::optional<uint64_t> parse_stat_cpu_ticks(std::string_view stat) {
  const size_t paren = stat.rfind(')');
  if (paren == std::string_view::npos || paren + 2 > stat.size()) return std::nullopt;
  // After ") " come field 3 (state), 4, ...: utime is field 14, stime 15.
  const std::string_view rest = stat.substr(paren + 2);
  auto utime = parse_number(field(rest, 14 - 3));
  auto stime = parse_number(field(rest, 15 - 3));
  if (!utime || !stime) return std::nullopt;
  return *utime + *stime;
}

std::optional<uint64_t> parse_status_kib(std::string_view status, std::string_view key) {
  size_t at = 0;
  while (at < status.size()) {
    size_t end = status.find('\n', at);
    if (end == std::string_view::npos) end = status.size();
    std::string_view line = status.substr(at, end - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view value = line.substr(key.size() + 1);
      const size_t digits = value.find_first_of("0123456789");
      if (digits == std::string_view::npos) return std::nullopt;
      return parse_number(value.substr(digits));
    }
    at = end + 1;
  }
  return std::nullopt;
}

Result<double> process_cpu_seconds(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  auto ticks = parse_stat_cpu_ticks(read_text_file(path));
  if (!ticks) return make_error(concat({"cannot read the CPU time from ", path}));
  return static_cast<double>(*ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Result<uint64_t> process_peak_rss_kib(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  auto kib = parse_status_kib(read_text_file(path), "VmHWM");
  if (!kib) return make_error(concat({"cannot read VmHWM from ", path}));
  return *kib;
}

}  // namespace listgate::loadbench

// log.h - one `key=value` line per event on stderr.
//
//   log(LogLevel::info, "reload_ok", {{"lists", 123}, {"ms", 45}});
//   → ts=2024-05-01T12:00:00.123Z level=info event=reload_ok lists=123 ms=45
//
// Values that are empty or hold spaces, quotes, '=' or control characters
// are quoted, with \" \\ \n \r \t and \u00XX escapes, so an event is always
// exactly one line. Formatting reuses one buffer per thread; values are
// borrowed (string_view, numbers), never copied into the heap.
//
// The sink is swappable (tests capture lines; the default writes each line
// to fd 2 with one write(2)). Only lines at or above the minimum level are
// formatted at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace listgate::app {

enum class LogLevel { debug, info, warning, error };
using Level = LogLevel;

std::string_view to_string(LogLevel level);  // "debug", "info", "warn", "error"

// A borrowed value: text, a number or a boolean.
class LogValue {
 public:
  enum class Kind { text, signed_int, unsigned_int, floating, boolean };

  LogValue(std::string_view s) : kind_(Kind::text), text_(s) {}            // NOLINT: implicit on purpose
  LogValue(const char* s) : kind_(Kind::text), text_(s ? s : "") {}        // NOLINT
  LogValue(const std::string& s) : kind_(Kind::text), text_(s) {}          // NOLINT
  LogValue(bool b) : kind_(Kind::boolean), u_(b ? 1 : 0) {}                // NOLINT
  LogValue(double d) : kind_(Kind::floating), d_(d) {}                     // NOLINT
  template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
  LogValue(Int v) {                                                        // NOLINT
    if constexpr (std::is_signed_v<Int>) {
      kind_ = Kind::signed_int;
      i_ = v;
    } else {
      kind_ = Kind::unsigned_int;
      u_ = v;
    }
  }

  Kind kind() const { return kind_; }
  std::string_view text() const { return text_; }
  int64_t signed_value() const { return i_; }
  uint64_t unsigned_value() const { return u_; }
  double floating_value() const { return d_; }

 private:
  Kind kind_ = Kind::text;
  std::string_view text_;
  union {
    int64_t i_;
    uint64_t u_ = 0;
    double d_;
  };
};

struct LogField {
  std::string_view key;
  LogValue value;
};

// Where finished lines go. `line` ends in "\n" and is valid only during the
// call. Replaceable at any time; the default writes to stderr.
using LogSink = void (*)(std::string_view line, void* context);

// Installs a sink (nullptr: the stderr default) and returns nothing; tests
// restore the default with set_log_sink(nullptr, nullptr).
void set_log_sink(LogSink sink, void* context);
void set_log_level(LogLevel minimum);
LogLevel log_level();

// Formats one event and hands it to the sink, if level is at least the
// minimum (default: info).
void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
// The same under a name that never meets <cmath>'s ::log.
inline void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {}) {
  log(level, event, fields);
}

// The formatter itself, for tests and for other sinks: appends one line
// (with "\n") to `out`. `time` is printed as RFC 3339 UTC with milliseconds.
void format_log_line(std::string& out, std::chrono::system_clock::time_point time, LogLevel level,
                     std::string_view event, std::initializer_list<LogField> fields);

// Appends `value` as a logfmt value: bare when it can be, else quoted.
void append_log_value(std::string& out, std::string_view value);

}  // namespace listgate::app

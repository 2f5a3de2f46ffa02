// log.cc - logfmt-style event lines and the stderr sink.
//
// The only place in the library that writes to a file descriptor: the
// default sink, one write(2) per line so lines from concurrent writers (the
// reactor, a helper thread) do not interleave mid-line.
#include "listgate/app/log.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>

namespace listgate::app {
namespace {

constexpr int kStderrFd = 2;
constexpr size_t kNumberBufferSize = 32;
constexpr size_t kReservedLineBytes = 512;
constexpr char kHexDigits[] = "0123456789abcdef";

void stderr_sink(std::string_view line, void* /*context*/) {
  while (!line.empty()) {
    ssize_t n = ::write(kStderrFd, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report it
    line.remove_prefix(static_cast<size_t>(n));
  }
}

// Set at start-up or in tests; not meant to change under concurrent logging.
LogSink g_sink = stderr_sink;
void* g_context = nullptr;
LogLevel g_minimum = LogLevel::info;

bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '=') return true;
  }
  return false;
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

// Keys are the programmer's constants; anything odd becomes '_' so the
// line stays parseable.
void append_key(std::string& out, std::string_view key) {
  if (key.empty()) {
    out.push_back('_');
    return;
  }
  for (char c : key) out.push_back(is_key_char(c) ? c : '_');
}

template <class Number>
void append_number(std::string& out, Number v) {
  char buf[kNumberBufferSize];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_padded(std::string& out, int value, int width) {
  char buf[kNumberBufferSize];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  for (auto len = r.ptr - buf; len < width; ++len) out.push_back('0');
  out.append(buf, r.ptr);
}

void append_timestamp(std::string& out, std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms_total = duration_cast<milliseconds>(time.time_since_epoch()).count();
  auto secs = static_cast<time_t>(ms_total / 1000);
  int ms = static_cast<int>(ms_total % 1000);
  if (ms < 0) {  // before 1970: floor, not truncate
    ms += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  append_padded(out, tm.tm_year + 1900, 4);
  out.push_back('-');
  append_padded(out, tm.tm_mon + 1, 2);
  out.push_back('-');
  append_padded(out, tm.tm_mday, 2);
  out.push_back('T');
  append_padded(out, tm.tm_hour, 2);
  out.push_back(':');
  append_padded(out, tm.tm_min, 2);
  out.push_back(':');
  append_padded(out, tm.tm_sec, 2);
  out.push_back('.');
  append_padded(out, ms, 3);
  out.push_back('Z');
}

void append_value(std::string& out, const LogValue& value) {
  switch (value.kind()) {
    case LogValue::Kind::text: append_log_value(out, value.text()); break;
    case LogValue::Kind::signed_int: append_number(out, value.signed_value()); break;
    case LogValue::Kind::unsigned_int: append_number(out, value.unsigned_value()); break;
    case LogValue::Kind::floating: append_number(out, value.floating_value()); break;
    case LogValue::Kind::boolean: out.append(value.unsigned_value() ? "true" : "false"); break;
  }
}

}  // namespace

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warning: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

void append_log_value(std::string& out, std::string_view value) {
  if (!needs_quotes(value)) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out.append("\\u00");
          out.push_back(kHexDigits[u >> 4]);
          out.push_back(kHexDigits[u & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void format_log_line(std::string& out, std::chrono::system_clock::time_point time, LogLevel level,
                     std::string_view event, std::initializer_list<LogField> fields) {
  out.append("ts=");
  append_timestamp(out, time);
  out.append(" level=").append(to_string(level));
  out.append(" event=");
  append_log_value(out, event);
  for (const LogField& field : fields) {
    out.push_back(' ');
    append_key(out, field.key);
    out.push_back('=');
    append_value(out, field.value);
  }
  out.push_back('\n');
}

void set_log_sink(LogSink sink, void* context) {
  g_sink = sink != nullptr ? sink : stderr_sink;
  g_context = sink != nullptr ? context : nullptr;
}

void set_log_level(LogLevel minimum) { g_minimum = minimum; }

LogLevel log_level() { return g_minimum; }

void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (level < g_minimum) return;
  static thread_local std::string line = [] {
    std::string s;
    s.reserve(kReservedLineBytes);
    return s;
  }();
  line.clear();
  format_log_line(line, std::chrono::system_clock::now(), level, event, fields);
  g_sink(line, g_context);
}

}  // namespace listgate::app

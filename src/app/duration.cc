// duration.cc - durations as Mailman's config writes them: `5d`, `1h30m`, `30s`.
//
// lazr.config (which reads mailman.cfg) takes one number per unit, units in
// the order w, d, h, m, s, decimals allowed. listgate takes the same and also
// a bare number as seconds. Everything is counted in whole seconds: a value
// that is not a whole number of seconds (`0.5s`) is an error, not rounded.
#include <algorithm>
#include <array>

#include "listgate/app/config.h"
#include "text.h"

namespace listgate::app {
namespace {

struct Unit {
  char suffix;
  uint64_t seconds;
};
constexpr std::array<Unit, 5> kUnits{{
    {'w', 7 * 24 * 3600},
    {'d', 24 * 3600},
    {'h', 3600},
    {'m', 60},
    {'s', 1},
}};
constexpr uint64_t kMillisPerSecond = 1000;
constexpr size_t kMaxFractionDigits = 3;  // millisecond precision is plenty
constexpr uint64_t kMaxSeconds = 3650ull * 24 * 3600;  // ten years

Error not_a_duration(std::string_view text, std::string_view why) {
  std::string m = "'";
  m.append(text).append("' is not a duration (");
  m.append(why);
  m.append("; write a number with s, m, h, d or w, like 30s, 15m, 1h30m, 5d)");
  return make_error(std::move(m));
}

Error too_long() {
  return make_error("duration too long (at most " + std::to_string(kMaxSeconds / kUnits[1].seconds) + "d)");
}

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view text) {
  const std::string_view s = text::trim(text);
  if (s.empty()) return not_a_duration(s, "empty");
  if (std::all_of(s.begin(), s.end(), text::is_digit)) {  // bare seconds
    auto bare = text::parse_uint(s);
    if (!bare || *bare > kMaxSeconds) return too_long();
    return std::chrono::seconds(*bare);
  }

  uint64_t total_ms = 0;
  size_t next_unit = 0;  // units must come in kUnits order
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = pos;
    while (pos < s.size() && text::is_digit(s[pos])) ++pos;
    std::string_view whole = s.substr(start, pos - start);
    std::string_view fraction;
    if (pos < s.size() && s[pos] == '.') {
      size_t frac_start = ++pos;
      while (pos < s.size() && text::is_digit(s[pos])) ++pos;
      fraction = s.substr(frac_start, pos - frac_start);
      if (fraction.empty()) return not_a_duration(s, "a '.' without digits after it");
      if (fraction.size() > kMaxFractionDigits) return not_a_duration(s, "more than 3 decimals");
    }
    if (whole.empty() && fraction.empty()) return not_a_duration(s, "expected a number");
    if (pos == s.size()) return not_a_duration(s, "a number at the end without a unit");
    const char suffix = s[pos++];
    size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].suffix != suffix) ++u;
    if (u == kUnits.size()) {
      bool known = false;
      for (const Unit& unit : kUnits) known = known || unit.suffix == suffix;
      return not_a_duration(s, known ? "units out of order or repeated" : "unknown unit");
    }
    next_unit = u + 1;

    const uint64_t unit_s = kUnits[u].seconds;
    auto whole_value = whole.empty() ? std::optional<uint64_t>(0) : text::parse_uint(whole);
    if (!whole_value || *whole_value > kMaxSeconds / unit_s) return too_long();
    uint64_t ms = *whole_value * unit_s * kMillisPerSecond;
    if (!fraction.empty()) {
      uint64_t scale = 1;
      for (size_t i = 0; i < fraction.size(); ++i) scale *= 10;
      // fraction/scale of a unit, in ms; exact because scale divides 1000.
      ms += *text::parse_uint(fraction) * unit_s * (kMillisPerSecond / scale);
    }
    total_ms += ms;
    if (total_ms > kMaxSeconds * kMillisPerSecond) return too_long();
  }
  if (total_ms % kMillisPerSecond != 0) return not_a_duration(s, "not a whole number of seconds");
  return std::chrono::seconds(total_ms / kMillisPerSecond);
}

}  // namespace listgate::app

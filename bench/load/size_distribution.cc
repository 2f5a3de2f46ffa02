// size_distribution.cc - parsing `--size` (see size_distribution.h).
#include "size_distribution.h"

#include <algorithm>
#include <charconv>

#include "listgate/base/concat.h"

namespace listgate::loadbench {
namespace {

Error size_error(std::string_view text, std::string_view what) {
  return make_error(concat({"'", text, "': ", what}));
}

Result<uint64_t> checked_size(std::string_view text) {
  auto n = parse_byte_size(text);
  if (!n.ok()) return n;
  if (*n < kMinMessageSize || *n > kMaxMessageSize) {
    return size_error(text, concat({"a message size is ", std::to_string(kMinMessageSize), " to ",
                                    std::to_string(kMaxMessageSize), " bytes (64m)"}));
  }
  return n;
}

}  // namespace

Result<uint64_t> parse_byte_size(std::string_view text) {
  if (text.empty()) return size_error(text, "empty size");
  uint64_t unit = 1;
  std::string_view digits = text;
  const char last = text.back();
  if (last == 'k' || last == 'K') unit = 1024;
  if (last == 'm' || last == 'M') unit = 1024 * 1024;
  if (unit != 1) digits.remove_suffix(1);
  uint64_t n = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
    return size_error(text, "expected a number of bytes, optionally with k or m (4096, 4k, 1m)");
  }
  if (n > UINT64_MAX / unit) return size_error(text, "too large");
  return n * unit;
}

Result<SizeDistribution> parse_size_distribution(std::string_view text) {
  SizeDistribution d;
  if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    auto low = checked_size(text.substr(0, colon));
    if (!low.ok()) return low.error();
    auto high = checked_size(text.substr(colon + 1));
    if (!high.ok()) return high.error();
    if (*high < *low) return size_error(text, "a range is LOW:HIGH with LOW <= HIGH");
    d.kind = *low == *high ? SizeDistribution::Kind::fixed : SizeDistribution::Kind::uniform;
    d.low = *low;
    d.high = *high;
    return d;
  }
  if (text.find(',') != std::string_view::npos) {
    d.kind = SizeDistribution::Kind::list;
    size_t start = 0;
    for (;;) {
      const size_t comma = text.find(',', start);
      auto one = checked_size(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
      if (!one.ok()) return one.error();
      d.values.push_back(*one);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    d.low = *std::min_element(d.values.begin(), d.values.end());
    d.high = *std::max_element(d.values.begin(), d.values.end());
    uint64_t total = 0;
    for (uint64_t v : d.values) total += v;
    if (total > kMaxPrebuiltBytes) return size_error(text, "the listed sizes add up to more than 512m");
    return d;
  }
  auto one = checked_size(text);
  if (!one.ok()) return one.error();
  d.low = d.high = *one;
  return d;
}

std::vector<uint64_t> SizeDistribution::variants() const {
  switch (kind) {
    case Kind::fixed:
      return {low};
    case Kind::list:
      return values;
    case Kind::uniform: {
      uint64_t n = std::min<uint64_t>(kRangeVariants, high - low + 1);
      n = std::min<uint64_t>(n, std::max<uint64_t>(2, kMaxPrebuiltBytes / high));
      std::vector<uint64_t> out;
      out.reserve(n);
      for (uint64_t i = 0; i < n; ++i) out.push_back(low + (high - low) * i / (n - 1));
      return out;
    }
  }
  return {low};
}

uint64_t SizeDistribution::largest() const { return high; }

std::string SizeDistribution::describe() const {
  switch (kind) {
    case Kind::fixed:
      return std::to_string(low);
    case Kind::uniform:
      return std::to_string(low) + ":" + std::to_string(high);
    case Kind::list: {
      std::string s;
      for (uint64_t v : values) {
        if (!s.empty()) s += ',';
        s += std::to_string(v);
      }
      return s;
    }
  }
  return {};
}

}  // namespace listgate::loadbench

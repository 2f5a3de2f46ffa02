// faults.cc - fault settings by name, and the per-RCPT / per-message decisions.
#include "faults.h"

#include <charconv>
#include <cstdio>

#include "listgate/base/concat.h"

namespace listgate::sink {
namespace {

constexpr uint16_t kMinFailCode = 400;
constexpr uint16_t kMaxFailCode = 599;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

Result<double> parse_probability(std::string_view text) {
  double p = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), p);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || !(p >= 0 && p <= 1)) {
    return make_error(concat({"'", text, "' is not a probability from 0 to 1"}));
  }
  return p;
}

Result<uint64_t> parse_uint(std::string_view text, uint64_t max) {
  uint64_t v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || v > max) {
    return make_error(concat({"'", text, "' is not a number from 0 to ", std::to_string(max)}));
  }
  return v;
}

void append_number(std::string& out, uint64_t v) {
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, r.ptr);
}

void append_probability(std::string& out, const char* key, double p) {
  char text[64];
  int n = std::snprintf(text, sizeof text, "%s=%g ", key, p);
  out.append(text, static_cast<size_t>(n));
}

}  // namespace

bool contains_ignoring_case(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  const char first = lower(needle[0]);
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (lower(haystack[i]) != first) continue;
    size_t k = 1;
    while (k < needle.size() && lower(haystack[i + k]) == lower(needle[k])) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

Result<RcptRule> parse_rcpt_rule(std::string_view text) {
  size_t eq = text.rfind('=');
  if (eq == std::string_view::npos || eq == 0) {
    return make_error(concat({"'", text, "' is not SUBSTRING=CODE (like bob=550)"}));
  }
  auto code = parse_uint(text.substr(eq + 1), kMaxFailCode);
  if (!code.ok() || code.value() < kMinFailCode) {
    return make_error(concat({"'", text, "': CODE must be a reply code from 400 to 599"}));
  }
  return RcptRule{std::string(text.substr(0, eq)), static_cast<uint16_t>(code.value())};
}

void append_rcpt_refusal(std::string& out, uint16_t code) {
  append_number(out, code);
  out.append(code < 500 ? " 4.2.1 Recipient temporarily refused (sink fault)\r\n"
                        : " 5.1.1 Recipient refused (sink fault)\r\n");
}

void append_data_refusal(std::string& out, uint16_t code) {
  append_number(out, code);
  out.append(code < 500 ? " 4.3.0 Temporary failure (sink fault)\r\n" : " 5.6.0 Message refused (sink fault)\r\n");
}

Result<void> FaultEngine::set(std::string_view name, std::string_view value) {
  double* probability = nullptr;
  if (name == "rcpt-temp-fail") probability = &faults_.rcpt_temp_fail;
  if (name == "rcpt-perm-fail") probability = &faults_.rcpt_perm_fail;
  if (name == "data-temp-fail") probability = &faults_.data_temp_fail;
  if (name == "data-perm-fail") probability = &faults_.data_perm_fail;
  if (name == "drop-mid-data") probability = &faults_.drop_mid_data;
  if (probability != nullptr) {
    auto p = parse_probability(value);
    if (!p.ok()) return make_error(concat({name, ": ", p.error().message}));
    *probability = p.value();
    return {};
  }
  if (name == "delay-ms") {
    auto ms = parse_uint(value, kMaxDelayMs);
    if (!ms.ok()) return make_error(concat({"delay-ms: ", ms.error().message}));
    faults_.delay_ms = static_cast<uint32_t>(ms.value());
    return {};
  }
  if (name == "fail-rcpt") {
    auto rule = parse_rcpt_rule(value);
    if (!rule.ok()) return make_error(concat({"fail-rcpt: ", rule.error().message}));
    faults_.fail_rcpt.push_back(std::move(rule.value()));
    return {};
  }
  if (name == "seed") {
    auto seed = parse_uint(value, UINT64_MAX);
    if (!seed.ok()) return make_error(concat({"seed: ", seed.error().message}));
    reseed(seed.value());
    return {};
  }
  return make_error(concat({"unknown fault '", name, "'"}));
}

uint16_t FaultEngine::rcpt_code(std::string_view address) {
  for (const RcptRule& rule : faults_.fail_rcpt) {
    if (contains_ignoring_case(address, rule.substring)) return rule.code;
  }
  const double temp = faults_.rcpt_temp_fail;
  const double perm = faults_.rcpt_perm_fail;
  if (temp <= 0 && perm <= 0) return 0;
  const double u = rng_.uniform();
  if (u < temp) return kRcptTempCode;
  if (u < temp + perm) return kRcptPermCode;
  return 0;
}

uint16_t FaultEngine::data_code() {
  const double temp = faults_.data_temp_fail;
  const double perm = faults_.data_perm_fail;
  if (temp <= 0 && perm <= 0) return 0;
  const double u = rng_.uniform();
  if (u < temp) return kDataTempCode;
  if (u < temp + perm) return kDataPermCode;
  return 0;
}

bool FaultEngine::drop_mid_data() { return draw(faults_.drop_mid_data); }

void FaultEngine::describe(std::string& out) const {
  append_probability(out, "rcpt-temp-fail", faults_.rcpt_temp_fail);
  append_probability(out, "rcpt-perm-fail", faults_.rcpt_perm_fail);
  append_probability(out, "data-temp-fail", faults_.data_temp_fail);
  append_probability(out, "data-perm-fail", faults_.data_perm_fail);
  append_probability(out, "drop-mid-data", faults_.drop_mid_data);
  out.append("delay-ms=");
  append_number(out, faults_.delay_ms);
  out.append(" fail-rcpt=");
  if (faults_.fail_rcpt.empty()) out.push_back('-');
  for (size_t i = 0; i < faults_.fail_rcpt.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(faults_.fail_rcpt[i].substring);
    out.push_back('=');
    append_number(out, faults_.fail_rcpt[i].code);
  }
}

}  // namespace listgate::sink

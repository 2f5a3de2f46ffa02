// metrics.cc - registering samples and rendering Prometheus text format 0.0.4.
//
// Names, help and labels are checked and pre-rendered when registered, so a
// scrape only formats numbers into a reused string.
#include "listgate/app/metrics.h"

#include <charconv>
#include <cmath>

#include "listgate/app/log.h"
#include "text.h"

namespace listgate::app {
namespace {

constexpr std::string_view kCounterSuffix = "_total";
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
constexpr size_t kNumberBufferSize = 32;

bool is_name_start(char c) { return text::is_alpha(c) || c == '_' || c == ':'; }
bool is_name_char(char c) { return is_name_start(c) || text::is_digit(c); }

bool valid_metric_name(std::string_view name) {
  if (name.empty() || !is_name_start(name.front())) return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.front() == ':' || name.substr(0, 2) == "__") return false;
  for (char c : name) {
    if (c == ':' || !is_name_char(c)) return false;
  }
  return true;
}

// HELP text escapes backslash and newline; label values also the quote.
void append_escaped(std::string& out, std::string_view s, bool escape_quote) {
  for (char c : s) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '"' && escape_quote) {
      out.append("\\\"");
    } else {
      out.push_back(c);
    }
  }
}

template <class Int>
void append_integer(std::string& out, Int v) {
  char buf[kNumberBufferSize];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("NaN");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
  } else if (v == std::trunc(v) && std::fabs(v) < kMaxExactInteger) {
    append_integer(out, static_cast<int64_t>(v));
  } else {
    char buf[kNumberBufferSize];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

Error metric_error(std::string_view name, std::string_view what) {
  return make_error(text::concat({"metric ", name, ": ", what}));
}

bool source_is_null(const MetricSource& source) {
  if (auto p = std::get_if<const uint64_t*>(&source)) return *p == nullptr;
  if (auto p = std::get_if<const int64_t*>(&source)) return *p == nullptr;
  return !std::get<std::function<double()>>(source);
}

}  // namespace

Result<void> MetricsRegistry::add(MetricType type, std::string_view name, std::string_view help,
                                  std::vector<MetricLabel> labels, MetricSource source) {
  if (name.substr(0, kPrefix.size()) != kPrefix || !valid_metric_name(name)) {
    return metric_error(name, text::concat({"not a metric name starting with ", kPrefix}));
  }
  if (type == MetricType::counter &&
      (name.size() < kCounterSuffix.size() || name.substr(name.size() - kCounterSuffix.size()) != kCounterSuffix)) {
    return metric_error(name, "a counter's name ends in _total");
  }
  if (help.empty()) return metric_error(name, "needs help text");
  if (source_is_null(source)) return metric_error(name, "no value to read");
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!valid_label_name(labels[i].name)) return metric_error(name, "bad label name '" + labels[i].name + "'");
    for (size_t j = 0; j < i; ++j) {
      if (labels[j].name == labels[i].name) return metric_error(name, "label '" + labels[i].name + "' twice");
    }
  }

  Family* family = nullptr;
  for (Family& f : families_) {
    if (f.name == name) family = &f;
  }
  if (family == nullptr) {
    Family f{std::string(name), std::string(help), type, {}, {}, {}};
    for (const MetricLabel& l : labels) f.label_names.push_back(l.name);
    f.header.append("# HELP ").append(name).append(" ");
    append_escaped(f.header, help, false);
    f.header.append("\n# TYPE ").append(name).append(type == MetricType::counter ? " counter\n" : " gauge\n");
    families_.push_back(std::move(f));
    family = &families_.back();
  } else {
    if (family->type != type) return metric_error(name, "registered before with another type");
    if (family->help != help) return metric_error(name, "registered before with other help text");
    bool same_names = family->label_names.size() == labels.size();
    for (size_t i = 0; same_names && i < labels.size(); ++i) same_names = family->label_names[i] == labels[i].name;
    if (!same_names) return metric_error(name, "registered before with other label names");
  }

  Sample sample{std::string(name), {}, std::move(source)};
  for (const MetricLabel& l : labels) sample.label_values.push_back(l.value);
  for (const Sample& s : family->samples) {
    if (s.label_values == sample.label_values) return metric_error(name, "these label values are registered already");
  }
  if (!labels.empty()) {
    sample.prefix.push_back('{');
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) sample.prefix.push_back(',');
      sample.prefix.append(labels[i].name).append("=\"");
      append_escaped(sample.prefix, labels[i].value, true);
      sample.prefix.push_back('"');
    }
    sample.prefix.push_back('}');
  }
  sample.prefix.push_back(' ');
  family->samples.push_back(std::move(sample));
  return {};
}

void MetricsRegistry::counter(std::string_view name, std::string_view help, const uint64_t* value,
                              std::vector<MetricLabel> labels) {
  if (auto added = add_counter(name, help, value, std::move(labels)); !added) {
    log_event(Level::error, "metric_error", {{"error", added.error().message}});
  }
}

void MetricsRegistry::gauge(std::string_view name, std::string_view help, MetricSource source,
                            std::vector<MetricLabel> labels) {
  if (auto added = add_gauge(name, help, std::move(source), std::move(labels)); !added) {
    log_event(Level::error, "metric_error", {{"error", added.error().message}});
  }
}

void MetricsRegistry::render(std::string& out) const {
  for (const Family& family : families_) {
    out.append(family.header);
    for (const Sample& sample : family.samples) {
      out.append(sample.prefix);
      if (auto p = std::get_if<const uint64_t*>(&sample.source)) {
        append_integer(out, **p);
      } else if (auto q = std::get_if<const int64_t*>(&sample.source)) {
        append_integer(out, **q);
      } else {
        append_double(out, std::get<std::function<double()>>(sample.source)());
      }
      out.push_back('\n');
    }
  }
}

std::string MetricsRegistry::render() const {
  std::string out;
  render(out);
  return out;
}

}  // namespace listgate::app

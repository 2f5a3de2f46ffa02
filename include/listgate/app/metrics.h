// metrics.h - a registry of counters and gauges rendered as Prometheus text.
//
// The registry owns no numbers: each sample points at a uint64_t/int64_t
// that the server's own counter structs own and bump, or at a callback, and
// is read only when rendered. So a count lives in exactly one place and
// nothing is counted twice. Rendering follows the text exposition format
// 0.0.4: per family `# HELP`, `# TYPE`, then its samples, families and
// samples in registration order.
//
// Single-threaded like the reactor: register at start-up, render from the
// same thread that bumps the counters. The pointed-to values must outlive
// the registry.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "listgate/base/result.h"

namespace listgate::app {

enum class MetricType { counter, gauge };

struct MetricLabel {
  std::string name;
  std::string value;
};

// Where a sample's value is read from at render time.
using MetricSource = std::variant<const uint64_t*, const int64_t*, std::function<double()>>;

class MetricsRegistry {
 public:
  // Every name starts with this.
  static constexpr std::string_view kPrefix = "listgate_";

  // Adds one sample. The first sample of a name creates its family; later
  // ones must repeat its type and help and use the same label names with a
  // new combination of values. Counter names end in `_total`. Errors name
  // the metric and what is wrong.
  Result<void> add(MetricType type, std::string_view name, std::string_view help,
                   std::vector<MetricLabel> labels, MetricSource source);

  Result<void> add_counter(std::string_view name, std::string_view help, const uint64_t* value,
                           std::vector<MetricLabel> labels = {}) {
    return add(MetricType::counter, name, help, std::move(labels), value);
  }
  Result<void> add_gauge(std::string_view name, std::string_view help, MetricSource source,
                         std::vector<MetricLabel> labels = {}) {
    return add(MetricType::gauge, name, help, std::move(labels), std::move(source));
  }

  // For metrics named in the code: a registration error is a bug there, so
  // it is logged (event=metric_error) rather than handed back.
  void counter(std::string_view name, std::string_view help, const uint64_t* value,
               std::vector<MetricLabel> labels = {});
  void gauge(std::string_view name, std::string_view help, MetricSource source, std::vector<MetricLabel> labels = {});

  // Appends the exposition text to `out` (reuse one string to avoid
  // allocating on every scrape).
  void render(std::string& out) const;
  std::string render() const;

  size_t family_count() const { return families_.size(); }

 private:
  struct Sample {
    std::string prefix;  // `name{label="value",...} `, ready to print
    std::vector<std::string> label_values;
    MetricSource source;
  };
  struct Family {
    std::string name;
    std::string help;
    MetricType type;
    std::vector<std::string> label_names;
    std::string header;  // the # HELP and # TYPE lines
    std::vector<Sample> samples;
  };
  std::vector<Family> families_;
};

}  // namespace listgate::app

// metrics_test.cc - registry checks and the exact Prometheus text.
#include "listgate/app/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "listgate/app/log.h"

namespace listgate::app {
namespace {

TEST(Metrics, RendersExactTextFormat) {
  uint64_t connections = 0;
  uint64_t unknown_list = 0;
  uint64_t too_many = 0;
  int64_t spool_depth = 0;
  MetricsRegistry m;
  ASSERT_TRUE(m.add_counter("listgate_connections_total", "LMTP connections accepted.", &connections).ok());
  ASSERT_TRUE(m.add_counter("listgate_recipients_rejected_total", "Recipients refused at RCPT time, by reason.",
                            &unknown_list, {{"reason", "unknown_list"}})
                  .ok());
  ASSERT_TRUE(m.add_counter("listgate_recipients_rejected_total", "Recipients refused at RCPT time, by reason.",
                            &too_many, {{"reason", "too_many_recipients"}})
                  .ok());
  ASSERT_TRUE(m.add_gauge("listgate_spool_depth", "Messages waiting in the retry spool.", &spool_depth).ok());
  ASSERT_TRUE(m.add_gauge("listgate_table_lists", "Lists in the table.", [] { return 123.0; }).ok());
  EXPECT_EQ(m.family_count(), 4u);

  // Values are read at render time from their owners.
  connections = 7;
  unknown_list = 3;
  too_many = 18446744073709551615ull;
  spool_depth = -2;
  EXPECT_EQ(m.render(),
            "# HELP listgate_connections_total LMTP connections accepted.\n"
            "# TYPE listgate_connections_total counter\n"
            "listgate_connections_total 7\n"
            "# HELP listgate_recipients_rejected_total Recipients refused at RCPT time, by reason.\n"
            "# TYPE listgate_recipients_rejected_total counter\n"
            "listgate_recipients_rejected_total{reason=\"unknown_list\"} 3\n"
            "listgate_recipients_rejected_total{reason=\"too_many_recipients\"} 18446744073709551615\n"
            "# HELP listgate_spool_depth Messages waiting in the retry spool.\n"
            "# TYPE listgate_spool_depth gauge\n"
            "listgate_spool_depth -2\n"
            "# HELP listgate_table_lists Lists in the table.\n"
            "# TYPE listgate_table_lists gauge\n"
            "listgate_table_lists 123\n");

  connections = 8;
  std::string out = "prefix\n";
  m.render(out);  // appends
  EXPECT_EQ(out.rfind("prefix\n# HELP listgate_connections_total", 0), 0u);
  EXPECT_NE(out.find("listgate_connections_total 8\n"), std::string::npos);
}

TEST(Metrics, EmptyRegistryRendersNothing) {
  MetricsRegistry m;
  EXPECT_EQ(m.render(), "");
}

TEST(Metrics, EscapesHelpAndLabelValues) {
  uint64_t v = 1;
  MetricsRegistry m;
  ASSERT_TRUE(m.add_counter("listgate_x_total", "Back\\slash and\nnewline \"quoted\".", &v,
                            {{"a", "q\"uote"}, {"b", "back\\slash"}, {"c", "new\nline"}})
                  .ok());
  EXPECT_EQ(m.render(),
            "# HELP listgate_x_total Back\\\\slash and\\nnewline \"quoted\".\n"
            "# TYPE listgate_x_total counter\n"
            "listgate_x_total{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\"} 1\n");
}

TEST(Metrics, FloatingValues) {
  double value = 0;
  MetricsRegistry m;
  ASSERT_TRUE(m.add_gauge("listgate_g", "G.", [&] { return value; }).ok());
  auto sample = [&] {
    std::string text = m.render();
    return text.substr(text.rfind("listgate_g ") + 11);
  };
  value = 0.25;
  EXPECT_EQ(sample(), "0.25\n");
  value = -3;
  EXPECT_EQ(sample(), "-3\n");
  value = 1e300;
  EXPECT_EQ(sample(), "1e+300\n");
  value = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(sample(), "NaN\n");
  value = std::numeric_limits<double>::infinity();
  EXPECT_EQ(sample(), "+Inf\n");
  value = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(sample(), "-Inf\n");
}

TEST(Metrics, RejectsBadRegistrations) {
  uint64_t v = 0;
  MetricsRegistry m;
  auto error = [](Result<void> r) { return r.ok() ? std::string("(ok)") : r.error().message; };
  EXPECT_EQ(error(m.add_counter("connections_total", "H.", &v)),
            "metric connections_total: not a metric name starting with listgate_");
  EXPECT_EQ(error(m.add_counter("listgate_bad-name_total", "H.", &v)),
            "metric listgate_bad-name_total: not a metric name starting with listgate_");
  EXPECT_EQ(error(m.add_counter("listgate_connections", "H.", &v)),
            "metric listgate_connections: a counter's name ends in _total");
  EXPECT_EQ(error(m.add_counter("listgate_a_total", "", &v)), "metric listgate_a_total: needs help text");
  EXPECT_EQ(error(m.add_counter("listgate_a_total", "H.", nullptr)), "metric listgate_a_total: no value to read");
  EXPECT_EQ(error(m.add_gauge("listgate_g", "H.", std::function<double()>())), "metric listgate_g: no value to read");
  EXPECT_EQ(error(m.add_counter("listgate_a_total", "H.", &v, {{"__reserved", "x"}})),
            "metric listgate_a_total: bad label name '__reserved'");
  EXPECT_EQ(error(m.add_counter("listgate_a_total", "H.", &v, {{"bad-label", "x"}})),
            "metric listgate_a_total: bad label name 'bad-label'");
  EXPECT_EQ(error(m.add_counter("listgate_a_total", "H.", &v, {{"r", "x"}, {"r", "y"}})),
            "metric listgate_a_total: label 'r' twice");
  EXPECT_EQ(m.family_count(), 0u);

  ASSERT_TRUE(m.add_counter("listgate_a_total", "H.", &v, {{"r", "x"}}).ok());
  EXPECT_EQ(error(m.add_counter("listgate_a_total", "H.", &v, {{"r", "x"}})),
            "metric listgate_a_total: these label values are registered already");
  EXPECT_EQ(error(m.add_counter("listgate_a_total", "Other.", &v, {{"r", "y"}})),
            "metric listgate_a_total: registered before with other help text");
  EXPECT_EQ(error(m.add_counter("listgate_a_total", "H.", &v, {{"s", "y"}})),
            "metric listgate_a_total: registered before with other label names");
  EXPECT_EQ(error(m.add_gauge("listgate_a_total", "H.", &v, {{"r", "y"}})),
            "metric listgate_a_total: registered before with another type");
  EXPECT_EQ(m.family_count(), 1u);
  EXPECT_EQ(m.render(),
            "# HELP listgate_a_total H.\n"
            "# TYPE listgate_a_total counter\n"
            "listgate_a_total{r=\"x\"} 0\n");
}

void keep_line(std::string_view line, void* lines) { static_cast<std::vector<std::string>*>(lines)->emplace_back(line); }

TEST(Metrics, CodeNamedRegistrationsLogTheirMistakes) {
  std::vector<std::string> lines;
  set_log_sink(keep_line, &lines);
  uint64_t v = 7;
  MetricsRegistry m;
  m.counter("listgate_a_total", "H.", &v);
  m.gauge("listgate_g", "G.", [] { return 1.5; });
  m.counter("listgate_no_suffix", "H.", &v);  // a mistake: logged, not registered
  set_log_sink(nullptr, nullptr);
  EXPECT_EQ(m.family_count(), 2u);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("level=error event=metric_error error=\"metric listgate_no_suffix: a counter's name ends in _total\""),
            std::string::npos)
      << lines[0];
}

}  // namespace
}  // namespace listgate::app

// svg_plot_test.cc - the plot's axes steps and its one polyline.
#include "svg_plot.h"

#include <gtest/gtest.h>

namespace listgate::loadbench {
namespace {

TEST(SvgPlot, NiceSteps) {
  EXPECT_DOUBLE_EQ(nice_step(10), 2);
  EXPECT_DOUBLE_EQ(nice_step(100000), 20000);
  EXPECT_DOUBLE_EQ(nice_step(123456), 50000);
  EXPECT_DOUBLE_EQ(nice_step(5), 1);
  EXPECT_DOUBLE_EQ(nice_step(0.3), 0.1);
  for (double max : {1.0, 7.0, 33.0, 999.0, 12345.0, 2.5e6}) {
    const double ticks = max / nice_step(max);
    EXPECT_GE(ticks, 2.0) << max;
    EXPECT_LE(ticks, 5.0) << max;
  }
}

TEST(SvgPlot, OnePointPerSample) {
  const std::vector<uint64_t> samples{1000, 2000, 1500, 0, 1800};
  const std::string svg = throughput_svg(samples, 0.1, "a <title> & more");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>\n"), std::string::npos);
  EXPECT_NE(svg.find("a &lt;title&gt; &amp; more"), std::string::npos);
  const size_t points = svg.find("points=\"");
  ASSERT_NE(points, std::string::npos);
  const std::string list = svg.substr(points + 8, svg.find('"', points + 8) - points - 8);
  EXPECT_EQ(std::count(list.begin(), list.end(), ','), 5);
  EXPECT_NE(svg.find("messages/s (per 100 ms)"), std::string::npos);
  EXPECT_NE(svg.find("time (s)"), std::string::npos);
  EXPECT_NE(svg.find("mean 12600/s"), std::string::npos);  // 6300 messages in 0.5 s
  EXPECT_NE(svg.find(">20k<"), std::string::npos);           // peak 20000/s is the top tick
}

TEST(SvgPlot, EmptyRunStillDraws) {
  const std::string svg = throughput_svg({}, 1.0, "nothing");
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(svg.find("mean"), std::string::npos);
}

}  // namespace
}  // namespace listgate::loadbench

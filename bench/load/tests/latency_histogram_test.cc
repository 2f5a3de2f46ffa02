// latency_histogram_test.cc - percentiles within the promised 0.8 %.
#include "latency_histogram.h"

#include <gtest/gtest.h>

namespace listgate::loadbench {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

double rel_error(nanoseconds got, nanoseconds want) {
  return std::abs(static_cast<double>(got.count() - want.count())) / static_cast<double>(want.count());
}

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), nanoseconds(0));
  EXPECT_EQ(h.min(), nanoseconds(0));
  EXPECT_EQ(h.max(), nanoseconds(0));
  EXPECT_EQ(h.mean(), nanoseconds(0));
}

TEST(LatencyHistogram, OneValueIsExact) {
  LatencyHistogram h;
  h.record(microseconds(1234));
  for (double p : {0.0, 50.0, 99.0, 100.0}) EXPECT_EQ(h.percentile(p), microseconds(1234)) << p;
  EXPECT_EQ(h.mean(), microseconds(1234));
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 100; ++v) h.record(nanoseconds(v));
  EXPECT_EQ(h.percentile(50), nanoseconds(50));
  EXPECT_EQ(h.percentile(99), nanoseconds(99));
  EXPECT_EQ(h.percentile(100), nanoseconds(100));
  EXPECT_EQ(h.percentile(0), nanoseconds(1));
}

TEST(LatencyHistogram, UniformMicrosecondsWithinOnePercent) {
  LatencyHistogram h;
  for (int v = 1; v <= 10000; ++v) h.record(microseconds(v));
  EXPECT_EQ(h.count(), 10000u);
  EXPECT_LT(rel_error(h.percentile(50), microseconds(5000)), 0.008);
  EXPECT_LT(rel_error(h.percentile(90), microseconds(9000)), 0.008);
  EXPECT_LT(rel_error(h.percentile(99), microseconds(9900)), 0.008);
  EXPECT_LT(rel_error(h.percentile(99.9), microseconds(9990)), 0.008);
  EXPECT_EQ(h.percentile(100), microseconds(10000));  // clamped to the max seen
  EXPECT_EQ(h.percentile(0), microseconds(1));
  EXPECT_EQ(h.min(), microseconds(1));
  EXPECT_EQ(h.max(), microseconds(10000));
  EXPECT_LT(rel_error(h.mean(), nanoseconds(5'000'500)), 1e-9);
}

TEST(LatencyHistogram, TailIsSeen) {
  LatencyHistogram h;
  for (int i = 0; i < 990; ++i) h.record(microseconds(100));
  for (int i = 0; i < 10; ++i) h.record(std::chrono::milliseconds(50));
  EXPECT_LT(rel_error(h.percentile(50), microseconds(100)), 0.008);
  EXPECT_LT(rel_error(h.percentile(99), microseconds(100)), 0.008);  // rank 990 is the last fast one
  EXPECT_LT(rel_error(h.percentile(99.1), std::chrono::milliseconds(50)), 0.008);
}

TEST(LatencyHistogram, HugeAndNegativeValues) {
  LatencyHistogram h;
  h.record(std::chrono::hours(24 * 365));
  h.record(nanoseconds(-5));  // a clock step: counted as 0
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.min(), nanoseconds(0));
  EXPECT_EQ(h.percentile(100), std::chrono::hours(24 * 365));
}

TEST(LatencyHistogram, MergeAddsUp) {
  LatencyHistogram a, b;
  for (int v = 1; v <= 500; ++v) a.record(microseconds(v));
  for (int v = 501; v <= 1000; ++v) b.record(microseconds(v));
  a.merge(b);
  EXPECT_EQ(a.count(), 1000u);
  EXPECT_EQ(a.min(), microseconds(1));
  EXPECT_EQ(a.max(), microseconds(1000));
  EXPECT_LT(rel_error(a.percentile(50), microseconds(500)), 0.008);
}

}  // namespace
}  // namespace listgate::loadbench

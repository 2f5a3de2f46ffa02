// proc_stats_test.cc - CPU ticks and VmHWM out of /proc text.
#include "proc_stats.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace listgate::loadbench {
namespace {

TEST(ProcStats, StatTicksAfterAnOddCommandName) {
  // comm may hold spaces and parentheses; fields are counted after the last ')'.
  const std::string stat =
      "4242 (list gate) (x)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 75 0 0 20 0 3 0 12345 1000000 500 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  EXPECT_EQ(parse_stat_cpu_ticks(stat), 325u);
  EXPECT_FALSE(parse_stat_cpu_ticks("4242 (x) S 1 2").has_value());
  EXPECT_FALSE(parse_stat_cpu_ticks("garbage").has_value());
}

TEST(ProcStats, StatusKib) {
  const std::string status = "Name:\tlistgate\nVmPeak:\t  200000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t   10000 kB\n";
  EXPECT_EQ(parse_status_kib(status, "VmHWM"), 12345u);
  EXPECT_EQ(parse_status_kib(status, "VmRSS"), 10000u);
  EXPECT_FALSE(parse_status_kib(status, "VmSwap").has_value());
  EXPECT_FALSE(parse_status_kib(status, "Vm").has_value());
}

TEST(ProcStats, OwnProcess) {
  volatile double x = 0;
  for (int i = 0; i < 1000000; ++i) x = x + i;
  auto cpu = process_cpu_seconds(::getpid());
  ASSERT_TRUE(cpu.ok()) << cpu.error().message;
  EXPECT_GE(*cpu, 0);
  auto rss = process_peak_rss_kib(::getpid());
  ASSERT_TRUE(rss.ok()) << rss.error().message;
  EXPECT_GT(*rss, 100u);
  EXPECT_FALSE(process_cpu_seconds(-5).ok());
}

}  // namespace
}  // namespace listgate::loadbench

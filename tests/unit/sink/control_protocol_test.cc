// control_protocol_test.cc - parsing control lines.
#include "control_protocol.h"

#include <gtest/gtest.h>

namespace listgate::sink {
namespace {

TEST(SinkControl, Parses) {
  auto set = parse_control_line("set rcpt-temp-fail 0.1");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->verb, ControlVerb::set);
  EXPECT_EQ(set->name, "rcpt-temp-fail");
  EXPECT_EQ(set->value, "0.1");
  auto rule = parse_control_line("  set   fail-rcpt\tbob=550 ");
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ(rule->value, "bob=550");
  EXPECT_EQ(parse_control_line("clear")->verb, ControlVerb::clear);
  EXPECT_EQ(parse_control_line("clear fail-rcpt")->name, "fail-rcpt");
  EXPECT_EQ(parse_control_line("faults")->verb, ControlVerb::faults);
  EXPECT_EQ(parse_control_line("stats")->verb, ControlVerb::stats);
  EXPECT_EQ(parse_control_line("reset-stats")->verb, ControlVerb::reset_stats);
  EXPECT_EQ(parse_control_line("up")->verb, ControlVerb::up);
  EXPECT_EQ(parse_control_line("last")->verb, ControlVerb::last);
  EXPECT_EQ(parse_control_line("quit")->verb, ControlVerb::quit);
  auto down = parse_control_line("down");
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->verb, ControlVerb::down);
  EXPECT_FALSE(down->refuse_421);
  EXPECT_TRUE(parse_control_line("down 421")->refuse_421);
}

TEST(SinkControl, Errors) {
  EXPECT_FALSE(parse_control_line("").ok());
  EXPECT_FALSE(parse_control_line("set rcpt-temp-fail").ok());
  EXPECT_FALSE(parse_control_line("set a b c").ok());
  EXPECT_FALSE(parse_control_line("clear everything").ok());
  EXPECT_FALSE(parse_control_line("down 500").ok());
  EXPECT_FALSE(parse_control_line("stats now").ok());
  EXPECT_FALSE(parse_control_line("STATS").ok());
  EXPECT_EQ(parse_control_line("frob").error().message, "unknown command 'frob'");
}

}  // namespace
}  // namespace listgate::sink

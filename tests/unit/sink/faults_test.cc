// faults_test.cc - fault settings by name and the decisions they make.
#include "faults.h"

#include <gtest/gtest.h>

#include "counters.h"

namespace listgate::sink {
namespace {

TEST(SinkFaults, RcptRuleSyntax) {
  auto r = parse_rcpt_rule("bob=550");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->substring, "bob");
  EXPECT_EQ(r->code, 550);
  auto verp = parse_rcpt_rule("bounces+alice=example.com=451");
  ASSERT_TRUE(verp.ok());
  EXPECT_EQ(verp->substring, "bounces+alice=example.com");
  EXPECT_EQ(verp->code, 451);
  EXPECT_FALSE(parse_rcpt_rule("bob").ok());
  EXPECT_FALSE(parse_rcpt_rule("=550").ok());
  EXPECT_FALSE(parse_rcpt_rule("bob=250").ok());
  EXPECT_FALSE(parse_rcpt_rule("bob=600").ok());
  EXPECT_FALSE(parse_rcpt_rule("bob=55x").ok());
}

TEST(SinkFaults, SetByName) {
  FaultEngine e;
  EXPECT_TRUE(e.set("rcpt-temp-fail", "0.25").ok());
  EXPECT_TRUE(e.set("rcpt-perm-fail", "1").ok());
  EXPECT_TRUE(e.set("data-temp-fail", "0").ok());
  EXPECT_TRUE(e.set("data-perm-fail", "0.5").ok());
  EXPECT_TRUE(e.set("drop-mid-data", "0.125").ok());
  EXPECT_TRUE(e.set("delay-ms", "20").ok());
  EXPECT_TRUE(e.set("fail-rcpt", "bob=550").ok());
  EXPECT_TRUE(e.set("fail-rcpt", "carol=451").ok());
  EXPECT_TRUE(e.set("seed", "5").ok());
  EXPECT_DOUBLE_EQ(e.faults().rcpt_temp_fail, 0.25);
  EXPECT_EQ(e.faults().delay_ms, 20u);
  EXPECT_EQ(e.faults().fail_rcpt.size(), 2u);
  std::string d;
  e.describe(d);
  EXPECT_EQ(d,
            "rcpt-temp-fail=0.25 rcpt-perm-fail=1 data-temp-fail=0 data-perm-fail=0.5 drop-mid-data=0.125 "
            "delay-ms=20 fail-rcpt=bob=550,carol=451");
  EXPECT_FALSE(e.set("rcpt-temp-fail", "1.5").ok());
  EXPECT_FALSE(e.set("rcpt-temp-fail", "-0.1").ok());
  EXPECT_FALSE(e.set("rcpt-temp-fail", "x").ok());
  EXPECT_FALSE(e.set("delay-ms", "-1").ok());
  EXPECT_FALSE(e.set("delay-ms", "600001").ok());
  EXPECT_FALSE(e.set("nonsense", "1").ok());
  EXPECT_DOUBLE_EQ(e.faults().rcpt_temp_fail, 0.25);  // errors change nothing
  e.clear_rules();
  EXPECT_TRUE(e.faults().fail_rcpt.empty());
  EXPECT_EQ(e.faults().delay_ms, 20u);
  e.clear();
  d.clear();
  e.describe(d);
  EXPECT_EQ(d,
            "rcpt-temp-fail=0 rcpt-perm-fail=0 data-temp-fail=0 data-perm-fail=0 drop-mid-data=0 delay-ms=0 "
            "fail-rcpt=-");
}

TEST(SinkFaults, RulesComeFirstAndIgnoreCase) {
  FaultEngine e;
  e.faults().fail_rcpt = {{"Bob", 550}, {"example.net", 451}};
  EXPECT_EQ(e.rcpt_code("bob@example.net"), 550);
  EXPECT_EQ(e.rcpt_code("alice@EXAMPLE.NET"), 451);
  EXPECT_EQ(e.rcpt_code("alice@example.com"), 0);
  EXPECT_TRUE(contains_ignoring_case("abc", ""));
  EXPECT_FALSE(contains_ignoring_case("ab", "abc"));
  EXPECT_TRUE(contains_ignoring_case("xxABC", "abc"));
}

TEST(SinkFaults, ProbabilitiesAndSeeds) {
  FaultEngine a(3), b(3);
  for (FaultEngine* e : {&a, &b}) {
    e->faults().rcpt_temp_fail = 0.1;
    e->faults().rcpt_perm_fail = 0.1;
    e->faults().data_temp_fail = 0.2;
    e->faults().drop_mid_data = 0.5;
  }
  int temp = 0, perm = 0, data = 0, drops = 0;
  for (int i = 0; i < 10000; ++i) {
    const uint16_t c = a.rcpt_code("x@y");
    ASSERT_EQ(c, b.rcpt_code("x@y"));
    temp += c == kRcptTempCode;
    perm += c == kRcptPermCode;
    const uint16_t d = a.data_code();
    ASSERT_EQ(d, b.data_code());
    data += d == kDataTempCode;
    const bool drop = a.drop_mid_data();
    ASSERT_EQ(drop, b.drop_mid_data());
    drops += drop;
  }
  EXPECT_NEAR(temp, 1000, 150);
  EXPECT_NEAR(perm, 1000, 150);
  EXPECT_NEAR(data, 2000, 200);
  EXPECT_NEAR(drops, 5000, 300);
  FaultEngine off;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(off.rcpt_code("x"), 0);
    EXPECT_EQ(off.data_code(), 0);
    EXPECT_FALSE(off.drop_mid_data());
  }
  FaultEngine always;
  always.faults().data_perm_fail = 1;
  EXPECT_EQ(always.data_code(), kDataPermCode);
}

TEST(SinkFaults, RefusalLines) {
  std::string out;
  append_rcpt_refusal(out, 450);
  append_rcpt_refusal(out, 552);
  append_data_refusal(out, 451);
  append_data_refusal(out, 554);
  EXPECT_EQ(out,
            "450 4.2.1 Recipient temporarily refused (sink fault)\r\n"
            "552 5.1.1 Recipient refused (sink fault)\r\n"
            "451 4.3.0 Temporary failure (sink fault)\r\n"
            "554 5.6.0 Message refused (sink fault)\r\n");
}

TEST(SinkCounters, TextAndReset) {
  Counters c;
  c.connections = 3;
  c.active = 2;
  c.rcpt_accepted = 10;
  std::string out;
  append_counters(out, c);
  EXPECT_EQ(out,
            "connections=3 active=2 refused_connections=0 mails=0 rcpt_accepted=10 rcpt_refused=0 transactions=0 "
            "data_failed=0 drops=0 body_bytes=0 data_bytes=0 auth_ok=0 auth_failed=0 errors=0");
  reset_counters(c);
  EXPECT_EQ(c.connections, 0u);
  EXPECT_EQ(c.active, 2u);
}

}  // namespace
}  // namespace listgate::sink

// log_test.cc - the key=value line format, quoting, levels and the sink.
#include "listgate/app/log.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace listgate::app {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

// 2024-05-01T12:34:56.789Z
const system_clock::time_point kTime = system_clock::time_point(milliseconds(1714566896789));

std::string line(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  std::string out;
  format_log_line(out, kTime, level, event, fields);
  return out;
}

std::string quoted(std::string_view value) {
  std::string out;
  append_log_value(out, value);
  return out;
}

TEST(LogFormat, OneLineOfKeyValues) {
  EXPECT_EQ(line(LogLevel::info, "reload_ok", {{"lists", 123}, {"ms", 45}}),
            "ts=2024-05-01T12:34:56.789Z level=info event=reload_ok lists=123 ms=45\n");
  EXPECT_EQ(line(LogLevel::warning, "drain_timeout", {}), "ts=2024-05-01T12:34:56.789Z level=warn event=drain_timeout\n");
  EXPECT_EQ(line(LogLevel::error, "x", {{"e", "bad"}}), "ts=2024-05-01T12:34:56.789Z level=error event=x e=bad\n");
  EXPECT_EQ(line(LogLevel::debug, "x", {}), "ts=2024-05-01T12:34:56.789Z level=debug event=x\n");
}

TEST(LogFormat, ValueTypes) {
  const std::string owned = "from a std::string";
  uint64_t big = 18446744073709551615ull;
  int64_t negative = -42;
  size_t size = 7;
  EXPECT_EQ(line(LogLevel::info, "t",
                 {{"u", big}, {"i", negative}, {"z", size}, {"yes", true}, {"no", false}, {"f", 0.5}, {"s", owned},
                  {"sv", std::string_view("sv")}}),
            "ts=2024-05-01T12:34:56.789Z level=info event=t u=18446744073709551615 i=-42 z=7 yes=true no=false f=0.5 "
            "s=\"from a std::string\" sv=sv\n");
}

TEST(LogFormat, TimestampPadding) {
  std::string out;
  format_log_line(out, system_clock::time_point(milliseconds(5)), LogLevel::info, "e", {});
  EXPECT_EQ(out, "ts=1970-01-01T00:00:00.005Z level=info event=e\n");
}

TEST(LogQuoting, BareWhenSafe) {
  EXPECT_EQ(quoted("plain"), "plain");
  EXPECT_EQ(quoted("/var/lib/listgate/lists.json"), "/var/lib/listgate/lists.json");
  EXPECT_EQ(quoted("a\\b"), "a\\b");            // a backslash alone needs no quotes
  EXPECT_EQ(quoted("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes through
}

TEST(LogQuoting, QuotedWithEscapes) {
  EXPECT_EQ(quoted(""), "\"\"");
  EXPECT_EQ(quoted("two words"), "\"two words\"");
  EXPECT_EQ(quoted("a=b"), "\"a=b\"");
  EXPECT_EQ(quoted("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(quoted("back\\slash and space"), "\"back\\\\slash and space\"");
  EXPECT_EQ(quoted("line\nbreak\r\ttab"), "\"line\\nbreak\\r\\ttab\"");
  EXPECT_EQ(quoted(std::string_view("nul\0bell\x07", 9)), "\"nul\\u0000bell\\u0007\"");
  EXPECT_EQ(quoted("del\x7f"), "\"del\\u007f\"");
}

TEST(LogQuoting, EventsAndKeysNeverBreakTheLine) {
  std::string out = line(LogLevel::info, "bad event", {{"key with space", "v"}, {"", "empty key"}, {"k=", 1}});
  EXPECT_EQ(out, "ts=2024-05-01T12:34:56.789Z level=info event=\"bad event\" key_with_space=v _=\"empty key\" k_=1\n");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

struct Captured {
  std::vector<std::string> lines;
};

void capture(std::string_view l, void* context) { static_cast<Captured*>(context)->lines.emplace_back(l); }

class LogSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { set_log_sink(capture, &captured_); }
  void TearDown() override {
    set_log_sink(nullptr, nullptr);
    set_log_level(LogLevel::info);
  }
  Captured captured_;
};

TEST_F(LogSinkTest, LinesGoToTheSink) {
  log(LogLevel::info, "reload_ok", {{"lists", 123}, {"ms", 45}});
  log_event(Level::error, "config_error", {{"error", std::string("test.cfg:3: [mta] x: unknown key")}});
  ASSERT_EQ(captured_.lines.size(), 2u);
  const std::regex first(
      R"(ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info event=reload_ok lists=123 ms=45\n)");
  EXPECT_TRUE(std::regex_match(captured_.lines[0], first)) << captured_.lines[0];
  EXPECT_NE(captured_.lines[1].find(" level=error event=config_error error=\"test.cfg:3: [mta] x: unknown key\"\n"),
            std::string::npos)
      << captured_.lines[1];
}

TEST_F(LogSinkTest, BelowTheMinimumLevelNothingIsWritten) {
  EXPECT_EQ(log_level(), LogLevel::info);
  log(LogLevel::debug, "hidden");
  set_log_level(LogLevel::warning);
  log(LogLevel::info, "hidden_too");
  log(LogLevel::warning, "shown");
  log(LogLevel::error, "shown_too");
  ASSERT_EQ(captured_.lines.size(), 2u);
  EXPECT_NE(captured_.lines[0].find("event=shown\n"), std::string::npos);
  EXPECT_NE(captured_.lines[1].find("event=shown_too\n"), std::string::npos);
}

TEST(LogDefaultSink, WritesToStderr) {
  testing::internal::CaptureStderr();
  log(LogLevel::info, "to_stderr", {{"n", 1}});
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find(" level=info event=to_stderr n=1\n"), std::string::npos) << err;
}

}  // namespace
}  // namespace listgate::app

// server_probes_test.cc - start-up lines, sink stats and Prometheus text.
#include "server_probes.h"

#include <gtest/gtest.h>

namespace listgate::loadbench {
namespace {

TEST(ServerProbes, LineField) {
  const std::string sink = "sink listening smtp=127.0.0.1:40123 control=127.0.0.1:40124 io=io_uring";
  EXPECT_EQ(line_field(sink, "smtp"), "127.0.0.1:40123");
  EXPECT_EQ(line_field(sink, "control"), "127.0.0.1:40124");
  EXPECT_EQ(line_field(sink, "io"), "io_uring");
  EXPECT_EQ(line_field(sink, "missing"), "");
  const std::string lg =
      "ts=2026-01-01T00:00:00.000Z level=info event=listening lmtp=127.0.0.1:33 metrics=127.0.0.1:44 mode=relay";
  EXPECT_EQ(line_field(lg, "lmtp"), "127.0.0.1:33");
  EXPECT_EQ(line_field(lg, "metrics"), "127.0.0.1:44");
  EXPECT_EQ(line_field("xlmtp=1 lmtp=2", "lmtp"), "2");  // whole keys only
  EXPECT_EQ(line_field("reason=\"no io uring\" using=epoll", "reason"), "no io uring");
}

TEST(ServerProbes, SinkStats) {
  auto s = parse_sink_stats("ok connections=3 active=0 mails=2 rcpt_accepted=5 rcpt_refused=1\n");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->at("connections"), 3u);
  EXPECT_EQ(s->at("rcpt_accepted"), 5u);
  EXPECT_EQ(s->size(), 5u);
  EXPECT_FALSE(parse_sink_stats("err unknown command 'stat'").ok());
}

TEST(ServerProbes, Prometheus) {
  const std::string text =
      "# HELP listgate_deliveries_total Member deliveries.\n"
      "# TYPE listgate_deliveries_total counter\n"
      "listgate_deliveries_total{result=\"delivered\"} 123456\n"
      "listgate_deliveries_total{result=\"refused\"} 0\n"
      "listgate_connections 16\r\n"
      "\n"
      "bogus\n";
  const Metrics m = parse_prometheus_text(text);
  EXPECT_EQ(m.at("listgate_deliveries_total{result=\"delivered\"}"), 123456);
  EXPECT_EQ(m.at("listgate_deliveries_total{result=\"refused\"}"), 0);
  EXPECT_EQ(m.at("listgate_connections"), 16);
  EXPECT_EQ(m.size(), 3u);
}

TEST(ServerProbes, NothingListening) {
  app::Address a{app::Address::Kind::unix_socket, {}, 0, "/nonexistent/listgate-bench-test.sock"};
  EXPECT_FALSE(fetch_sink_stats(a, std::chrono::milliseconds(100)).ok());
  EXPECT_FALSE(fetch_metrics(a, std::chrono::milliseconds(100)).ok());
}

}  // namespace
}  // namespace listgate::loadbench

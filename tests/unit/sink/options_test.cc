// options_test.cc - listgate-sink's flags.
#include "options.h"

#include <gtest/gtest.h>

#include <vector>

namespace listgate::sink {
namespace {

Result<SinkArgs> parse(std::vector<const char*> words) {
  return parse_sink_args(static_cast<int>(words.size()), words.data());
}

TEST(SinkOptions, Defaults) {
  auto a = parse({});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->listen.to_string(), "127.0.0.1:2525");
  EXPECT_FALSE(a->control.has_value());
  EXPECT_EQ(a->io, app::IoBackend::automatic);
  EXPECT_EQ(a->session.max_message_size, kDefaultMaxMessageSize);
  EXPECT_EQ(a->session.max_recipients, 0u);
  EXPECT_FALSE(a->session.xverp);
  EXPECT_TRUE(a->session.chunking);
  EXPECT_FALSE(a->session.auth.has_value());
  EXPECT_FALSE(a->session.track_envelope);
  EXPECT_FALSE(a->session.keep_body);
  EXPECT_EQ(a->seed, kDefaultSeed);
  EXPECT_TRUE(a->record_file.empty());
}

TEST(SinkOptions, EveryFlag) {
  auto a = parse({"--listen", "127.0.0.1:0", "--control=127.0.0.1:0", "--io", "epoll", "--size", "1000",
                  "--max-rcpt=50", "--xverp", "--no-chunking", "--auth", "u:p:w", "--rcpt-temp-fail", "0.1",
                  "--rcpt-perm-fail=0.2", "--fail-rcpt", "bob=550", "--fail-rcpt=carol=451", "--data-temp-fail", "0.3",
                  "--data-perm-fail", "0.4", "--drop-mid-data", "0.5", "--delay-ms", "7", "--seed", "42", "--record",
                  "/tmp/r", "--keep-last"});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->listen.port, 0);
  ASSERT_TRUE(a->control.has_value());
  EXPECT_EQ(a->control->host, "127.0.0.1");
  EXPECT_EQ(a->io, app::IoBackend::epoll);
  EXPECT_EQ(a->session.max_message_size, 1000u);
  EXPECT_EQ(a->session.max_recipients, 50u);
  EXPECT_TRUE(a->session.xverp);
  EXPECT_FALSE(a->session.chunking);
  ASSERT_TRUE(a->session.auth.has_value());
  EXPECT_EQ(a->session.auth->user, "u");
  EXPECT_EQ(a->session.auth->pass, "p:w");
  EXPECT_DOUBLE_EQ(a->faults.rcpt_temp_fail, 0.1);
  EXPECT_DOUBLE_EQ(a->faults.rcpt_perm_fail, 0.2);
  EXPECT_DOUBLE_EQ(a->faults.data_temp_fail, 0.3);
  EXPECT_DOUBLE_EQ(a->faults.data_perm_fail, 0.4);
  EXPECT_DOUBLE_EQ(a->faults.drop_mid_data, 0.5);
  EXPECT_EQ(a->faults.delay_ms, 7u);
  ASSERT_EQ(a->faults.fail_rcpt.size(), 2u);
  EXPECT_EQ(a->faults.fail_rcpt[1].substring, "carol");
  EXPECT_EQ(a->seed, 42u);
  EXPECT_EQ(a->record_file, "/tmp/r");
  EXPECT_TRUE(a->session.track_envelope);
  EXPECT_TRUE(a->session.keep_body);
}

TEST(SinkOptions, Errors) {
  EXPECT_FALSE(parse({"--listen"}).ok());
  EXPECT_FALSE(parse({"--listen", "nope"}).ok());
  EXPECT_FALSE(parse({"--listen", "unix:/tmp/x"}).ok());
  EXPECT_FALSE(parse({"--io", "kqueue"}).ok());
  EXPECT_FALSE(parse({"--rcpt-temp-fail", "2"}).ok());
  EXPECT_FALSE(parse({"--fail-rcpt", "bob"}).ok());
  EXPECT_FALSE(parse({"--auth", "nocolon"}).ok());
  EXPECT_FALSE(parse({"--xverp=1"}).ok());
  EXPECT_FALSE(parse({"--no-chunking=yes"}).ok());
  EXPECT_FALSE(parse({"--chunking"}).ok());
  EXPECT_FALSE(parse({"--size", "-1"}).ok());
  EXPECT_FALSE(parse({"--frobnicate"}).ok());
  EXPECT_FALSE(parse({"stray"}).ok());
  auto e = parse({"--rcpt-temp-fail", "2"});
  EXPECT_NE(e.error().message.find("--rcpt-temp-fail"), std::string::npos) << e.error().message;
  auto h = parse({"-h"});
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->help);
}

}  // namespace
}  // namespace listgate::sink

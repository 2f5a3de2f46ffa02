// options_test.cc - listgate-bench's flags: values, defaults and every error.
#include "options.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace listgate::loadbench {
namespace {

using namespace std::chrono_literals;

Result<BenchArgs> parse(std::initializer_list<const char*> words) {
  std::vector<const char*> argv(words);
  return parse_bench_args(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(std::initializer_list<const char*> words) {
  auto r = parse(words);
  return r.ok() ? std::string("(parsed)") : r.error().message;
}

TEST(Options, LoadDefaults) {
  auto r = parse({"load", "--lmtp", "127.0.0.1:8024", "--to", "dev@lists.example.org"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->command, BenchArgs::Command::load);
  const LoadOptions& o = r->load;
  EXPECT_EQ(o.lmtp->host, "127.0.0.1");
  EXPECT_EQ(o.lmtp->port, 8024);
  EXPECT_EQ(o.to, std::vector<std::string>{"dev@lists.example.org"});
  EXPECT_EQ(o.connections, 16u);
  EXPECT_EQ(o.size.describe(), "4096");
  EXPECT_EQ(o.rcpts, 1u);
  EXPECT_EQ(o.unknown, 0);
  EXPECT_EQ(o.duration, 10s);
  EXPECT_EQ(o.messages, 0u);
  EXPECT_EQ(o.io, app::IoBackend::automatic);
  EXPECT_TRUE(o.overlap);
  EXPECT_EQ(o.cpu, -1);
  EXPECT_FALSE(o.json);
  EXPECT_TRUE(o.plot.empty());
  EXPECT_FALSE(o.quiet);
}

TEST(Options, LoadEveryFlag) {
  auto r = parse({"load", "--lmtp=unix:/run/listgate.sock", "--table", "lists.json", "--connections", "256",
                  "--size", "1k:64k", "--rcpts=5", "--unknown", "0.1", "--messages", "100000", "--io", "epoll",
                  "--no-overlap", "--seed", "7", "--cpu", "1", "--json", "--plot", "out.svg", "--quiet"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const LoadOptions& o = r->load;
  EXPECT_TRUE(o.lmtp->is_unix());
  EXPECT_EQ(o.lmtp->path, "/run/listgate.sock");
  EXPECT_EQ(o.table, "lists.json");
  EXPECT_EQ(o.connections, 256u);
  EXPECT_EQ(o.size.kind, SizeDistribution::Kind::uniform);
  EXPECT_EQ(o.size.low, 1024u);
  EXPECT_EQ(o.size.high, 65536u);
  EXPECT_EQ(o.rcpts, 5u);
  EXPECT_DOUBLE_EQ(o.unknown, 0.1);
  EXPECT_EQ(o.messages, 100000u);
  EXPECT_EQ(o.io, app::IoBackend::epoll);
  EXPECT_FALSE(o.overlap);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(o.cpu, 1);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.plot, "out.svg");
  EXPECT_TRUE(o.quiet);
}

TEST(Options, LastValueWins) {
  auto r = parse({"load", "--lmtp", "127.0.0.1:1", "--to", "a@b", "--connections", "2", "--connections", "3"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->load.connections, 3u);
}

TEST(Options, ToTakesSeveralAddresses) {
  auto r = parse({"load", "--lmtp", "127.0.0.1:1", "--to", "a@x.org,b@y.org"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->load.to, (std::vector<std::string>{"a@x.org", "b@y.org"}));
  EXPECT_NE(error_of({"load", "--lmtp", "127.0.0.1:1", "--to", "a@x.org,,b@y.org"}).find("--to"), std::string::npos);
  EXPECT_NE(error_of({"load", "--lmtp", "127.0.0.1:1", "--to", "nobody"}).find("not an address"), std::string::npos);
}

TEST(Options, E2eFlags) {
  auto r = parse({"e2e", "--lists", "100", "--members", "1000", "--discard", "--listgate", "/x/listgate", "--sink",
                  "/x/sink", "--listgate-cpu", "0", "--sink-cpu", "1", "--cpu", "1", "--keep", "--duration", "5s"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->command, BenchArgs::Command::e2e);
  EXPECT_EQ(r->e2e.lists, 100u);
  EXPECT_EQ(r->e2e.members, 1000u);
  EXPECT_TRUE(r->e2e.discard);
  EXPECT_EQ(r->e2e.listgate, "/x/listgate");
  EXPECT_EQ(r->e2e.sink, "/x/sink");
  EXPECT_EQ(r->e2e.listgate_cpu, 0);
  EXPECT_EQ(r->e2e.sink_cpu, 1);
  EXPECT_EQ(r->load.cpu, 1);
  EXPECT_TRUE(r->e2e.keep);
  EXPECT_EQ(r->load.duration, 5s);
}

TEST(Options, E2eNeedsNothing) {
  auto r = parse({"e2e"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->e2e.lists, 0u);
  EXPECT_FALSE(r->e2e.discard);
}

TEST(Options, Help) {
  EXPECT_EQ(parse({"--help"})->command, BenchArgs::Command::help);
  EXPECT_EQ(parse({"load", "-h"})->command, BenchArgs::Command::help);
  EXPECT_EQ(parse({"e2e", "--help"})->command, BenchArgs::Command::help);
}

TEST(Options, Errors) {
  EXPECT_EQ(error_of({}), "which command: load or e2e?");
  EXPECT_EQ(error_of({"run"}), "unknown command 'run' (load or e2e)");
  EXPECT_EQ(error_of({"load", "--lmtp", "127.0.0.1:1", "--to", "a@b", "--frobnicate", "1"}),
            "unknown flag --frobnicate for load");
  EXPECT_EQ(error_of({"load", "--lmtp", "127.0.0.1:1", "--to", "a@b", "--discard"}), "unknown flag --discard for load");
  EXPECT_EQ(error_of({"load", "--lmtp"}), "--lmtp needs a value");
  EXPECT_EQ(error_of({"load", "stray"}), "unexpected argument 'stray'");
  EXPECT_EQ(error_of({"e2e", "--json=yes"}), "--json takes no value");
  EXPECT_EQ(error_of({"load", "--to", "a@b"}), "load needs --lmtp HOST:PORT (the server to load)");
  EXPECT_EQ(error_of({"load", "--lmtp", "127.0.0.1:1"}), "load needs one of --table FILE or --to ADDR[,ADDR...]");
  EXPECT_EQ(error_of({"load", "--lmtp", "127.0.0.1:1", "--to", "a@b", "--table", "t.json"}),
            "load needs one of --table FILE or --to ADDR[,ADDR...]");
  EXPECT_EQ(error_of({"e2e", "--lmtp", "127.0.0.1:1"}), "--lmtp is for `load`; e2e starts its own listgate");
  EXPECT_EQ(error_of({"e2e", "--to", "a@b"}), "--to is for `load`; e2e sends to the lists of its table");
  EXPECT_EQ(error_of({"e2e", "--members", "5"}), "--members goes with --lists");
  EXPECT_EQ(error_of({"e2e", "--lists", "5", "--table", "t.json"}), "give --table or --lists, not both");
  EXPECT_EQ(error_of({"e2e", "--duration", "5s", "--messages", "10"}), "give --duration or --messages, not both");
  EXPECT_EQ(error_of({"e2e", "--connections", "0"}), "--connections: '0' is not a whole number from 1 to 100000");
  EXPECT_EQ(error_of({"e2e", "--rcpts", "x"}), "--rcpts: 'x' is not a whole number from 1 to 100000");
  EXPECT_EQ(error_of({"e2e", "--unknown", "1.5"}), "--unknown: '1.5' is not a share from 0 to 1 (0.1 = 10 %)");
  EXPECT_EQ(error_of({"e2e", "--unknown", "-0.1"}), "--unknown: '-0.1' is not a share from 0 to 1 (0.1 = 10 %)");
  EXPECT_EQ(error_of({"e2e", "--io", "kqueue"}).substr(0, 5), "--io:");
  EXPECT_EQ(error_of({"e2e", "--size", "12"}).substr(0, 7), "--size:");
  EXPECT_EQ(error_of({"e2e", "--duration", "ten"}).substr(0, 11), "--duration:");
  EXPECT_EQ(error_of({"e2e", "--cpu", "-1"}), "--cpu: '-1' is not a whole number from 0 to 1023");
  EXPECT_EQ(error_of({"e2e", "--plot="}), "--plot: needs a file name");
  EXPECT_EQ(error_of({"load", "--lmtp", "127.0.0.1:0", "--to", "a@b"}), "--lmtp: port 0 is not a server's port");
}

TEST(Options, Durations) {
  EXPECT_EQ(parse_run_duration("10s").value(), 10s);
  EXPECT_EQ(parse_run_duration("10").value(), 10s);
  EXPECT_EQ(parse_run_duration("500ms").value(), 500ms);
  EXPECT_EQ(parse_run_duration("1.5s").value(), 1500ms);
  EXPECT_EQ(parse_run_duration("2m").value(), 120s);
  EXPECT_EQ(parse_run_duration("1h").value(), 3600s);
  EXPECT_FALSE(parse_run_duration("").ok());
  EXPECT_FALSE(parse_run_duration("s").ok());
  EXPECT_FALSE(parse_run_duration("0s").ok());
  EXPECT_FALSE(parse_run_duration("0.5ms").ok());
  EXPECT_FALSE(parse_run_duration("25h").ok());
  EXPECT_FALSE(parse_run_duration("10 s").ok());
  EXPECT_FALSE(parse_run_duration("10sec").ok());
  EXPECT_FALSE(parse_run_duration("-1s").ok());
}

}  // namespace
}  // namespace listgate::loadbench

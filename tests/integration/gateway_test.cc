// gateway_test.cc - listgate serve over real sockets, on both reactor backends.
#include <signal.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace listgate::testing {
namespace {

class GatewayTest : public ::testing::TestWithParam<std::string> {
 protected:
  GatewayOptions options() {
    GatewayOptions o;
    o.io = GetParam();
    return o;
  }
};

std::string message(const std::string& subject) {
  return "From: someone@example.com\r\nSubject: " + subject + "\r\n\r\nHello.\r\n..a stuffed line\r\n.\r\n";
}

TEST_P(GatewayTest, FullDialogue) {
  Gateway g(options());
  ASSERT_TRUE(g.started()) << g.process().log();
  auto c = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(c);
  std::string greeting = c->reply();
  EXPECT_EQ(greeting, "220 lmtp.test LMTP listgate ready\r\n");
  c->send("LHLO client.test\r\n");
  std::string lhlo = c->reply();
  EXPECT_EQ(lhlo.substr(0, 17), "250-lmtp.test\r\n25");
  EXPECT_NE(lhlo.find("PIPELINING"), std::string::npos);
  EXPECT_NE(lhlo.find("ENHANCEDSTATUSCODES"), std::string::npos);
  EXPECT_NE(lhlo.find("SIZE 52428800"), std::string::npos);
  c->send("MAIL FROM:<sender@example.com>\r\n");
  EXPECT_EQ(c->code(), "250");
  c->send("RCPT TO:<announce@lists.example.org>\r\n");
  EXPECT_EQ(c->code(), "250");
  c->send("RCPT TO:<nobody@lists.example.org>\r\n");
  EXPECT_EQ(c->reply().substr(0, 9), "550 5.1.1");
  c->send("RCPT TO:<Team@Other.Example.Net>\r\n");
  EXPECT_EQ(c->code(), "250");
  c->send("DATA\r\n");
  EXPECT_EQ(c->code(), "354");
  c->send(message("full"));
  // One reply per accepted recipient, in RCPT order.
  EXPECT_EQ(c->reply().substr(0, 9), "250 2.0.0");
  EXPECT_EQ(c->reply().substr(0, 9), "250 2.0.0");
  c->send("QUIT\r\n");
  EXPECT_EQ(c->code(), "221");
  EXPECT_TRUE(c->closed());
  EXPECT_EQ(g.metric("listgate_transactions_total"), 1);
  EXPECT_EQ(g.metric("listgate_body_bytes_copied_total"), 0);
  // Lock-step: the greeting and each of the 8 replies the client waited
  // for went out in a send of its own, each after a wake-up of its own.
  double sends = g.metric("listgate_io_sends_total");
  EXPECT_GE(sends, 9);
  EXPECT_GE(g.metric("listgate_io_loop_turns_total"), sends);
}

TEST_P(GatewayTest, PipelinedGroupsAnsweredInOrder) {
  Gateway g(options());
  ASSERT_TRUE(g.started()) << g.process().log();
  auto c = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(greet(*c));
  // Three whole transactions in one write, as a pipelining client may send them.
  std::string batch;
  for (int i = 0; i < 3; ++i) {
    batch += "MAIL FROM:<s@example.com>\r\nRCPT TO:<announce@lists.example.org>\r\n"
             "RCPT TO:<dev-nope@lists.example.org>\r\nRCPT TO:<announce-owner@alias.example.org>\r\nDATA\r\n";
    batch += message("pipelined " + std::to_string(i));
  }
  batch += "NOOP\r\n";
  c->send(batch);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c->code(), "250") << i;  // MAIL
    EXPECT_EQ(c->code(), "250") << i;  // RCPT
    EXPECT_EQ(c->code(), "550") << i;  // RCPT unknown
    EXPECT_EQ(c->code(), "250") << i;  // RCPT owner via alias domain
    EXPECT_EQ(c->code(), "354") << i;
    EXPECT_EQ(c->code(), "250") << i;  // per recipient
    EXPECT_EQ(c->code(), "250") << i;
  }
  EXPECT_EQ(c->code(), "250");  // NOOP
}

TEST_P(GatewayTest, ThreeHundredConcurrentSessions) {
  Gateway g(options());
  ASSERT_TRUE(g.started()) << g.process().log();
  constexpr int kSessions = 300;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kSessions; ++i) {
    clients.push_back(Client::tcp(g.lmtp_port()));
    ASSERT_TRUE(clients.back()) << i;
  }
  // All open at once; now each runs a transaction, interleaved.
  for (auto& c : clients) ASSERT_EQ(c->code(), "220");
  for (auto& c : clients) c->send("LHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<announce@lists.example.org>\r\nDATA\r\n");
  for (auto& c : clients) {
    EXPECT_EQ(c->code(), "250");
    EXPECT_EQ(c->code(), "250");
    EXPECT_EQ(c->code(), "250");
    EXPECT_EQ(c->code(), "354");
  }
  for (auto& c : clients) c->send(message("concurrent"));
  int delivered = 0;
  for (auto& c : clients) delivered += c->code() == "250";
  EXPECT_EQ(delivered, kSessions);
  EXPECT_EQ(g.metric("listgate_transactions_total"), kSessions);
}

TEST_P(GatewayTest, OversizeLineAndMessage) {
  GatewayOptions o = options();
  o.listgate_keys.push_back("max_message_size = 4096");
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();
  auto c = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(greet(*c));
  c->send("NOOP " + std::string(2000, 'x') + "\r\n");
  EXPECT_EQ(c->reply().substr(0, 9), "500 5.5.2");
  c->send("MAIL FROM:<a@b.c> SIZE=5000\r\n");
  EXPECT_EQ(c->reply().substr(0, 9), "552 5.3.4");
  c->send("MAIL FROM:<a@b.c>\r\nRCPT TO:<announce@lists.example.org>\r\nRCPT TO:<team@other.example.net>\r\nDATA\r\n");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(c->code(), "354");
  std::string big = "Subject: big\r\n\r\n";
  for (int i = 0; i < 200; ++i) big += std::string(70, 'y') + "\r\n";
  c->send(big + ".\r\n");
  EXPECT_EQ(c->reply().substr(0, 9), "552 5.3.4");
  EXPECT_EQ(c->reply().substr(0, 9), "552 5.3.4");
  // The session is still usable.
  c->send("NOOP\r\n");
  EXPECT_EQ(c->code(), "250");
}

TEST_P(GatewayTest, ReloadAddsAndRemovesListsWhileSessionStaysOpen) {
  Gateway g(options());
  ASSERT_TRUE(g.started()) << g.process().log();
  auto c = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(greet(*c));
  c->send("MAIL FROM:<a@b.c>\r\nRCPT TO:<fresh@lists.example.org>\r\nRSET\r\n");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(c->code(), "550");
  EXPECT_EQ(c->code(), "250");
  // Start a transaction with the old table, then replace the table under it.
  c->send("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(c->code(), "250");
  g.write_table(R"({"lists": [{"address": "fresh@lists.example.org", "members": ["x@y.z"]}]})");
  size_t mark = g.process().log_lines();
  g.process().signal(SIGHUP);
  ASSERT_TRUE(g.process().wait_log("event=reload_ok", 5s, mark)) << g.process().log();
  // The open transaction keeps the table it started with.
  c->send("RCPT TO:<announce@lists.example.org>\r\nRCPT TO:<fresh@lists.example.org>\r\nRSET\r\n");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(c->code(), "550");
  EXPECT_EQ(c->code(), "250");
  // The next one sees the new table.
  c->send("MAIL FROM:<a@b.c>\r\nRCPT TO:<announce@lists.example.org>\r\nRCPT TO:<fresh@lists.example.org>\r\n");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(c->code(), "550");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(g.metric("listgate_reloads_total{result=\"ok\"}"), 1);
}

TEST_P(GatewayTest, BrokenTableKeepsOldTableServing) {
  Gateway g(options());
  ASSERT_TRUE(g.started()) << g.process().log();
  g.write_table(R"({"lists": [{"address": "fresh@lists.example.org"}, )");
  size_t mark = g.process().log_lines();
  g.process().signal(SIGHUP);
  auto line = g.process().wait_log("event=reload_failed", 5s, mark);
  ASSERT_TRUE(line) << g.process().log();
  EXPECT_NE(line->find("lists.json:1:"), std::string::npos) << *line;
  EXPECT_EQ(g.metric("listgate_reloads_total{result=\"failed\"}"), 1);
  auto c = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(greet(*c));
  c->send("MAIL FROM:<a@b.c>\r\nRCPT TO:<announce@lists.example.org>\r\n");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(c->code(), "250");
}

TEST_P(GatewayTest, IdleTimeout) {
  GatewayOptions o = options();
  o.listgate_keys.push_back("idle_timeout = 1s");
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();
  auto idle = Client::tcp(g.lmtp_port());
  auto busy = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(idle && busy);
  ASSERT_TRUE(greet(*idle));
  ASSERT_TRUE(greet(*busy));
  // The busy one keeps talking for longer than the timeout and survives.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(300ms);
    busy->send("NOOP\r\n");
    ASSERT_EQ(busy->code(), "250") << i;
  }
  EXPECT_EQ(idle->reply().substr(0, 9), "421 4.4.2");
  EXPECT_TRUE(idle->closed());
}

TEST_P(GatewayTest, MaxConnections) {
  GatewayOptions o = options();
  o.listgate_keys.push_back("max_connections = 3");
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(Client::tcp(g.lmtp_port()));
    ASSERT_EQ(held.back()->code(), "220");
  }
  auto extra = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->reply().substr(0, 9), "421 4.3.2");
  EXPECT_TRUE(extra->closed());
  // Once one leaves, a new one gets in.
  held[0]->send("QUIT\r\n");
  EXPECT_EQ(held[0]->code(), "221");
  EXPECT_TRUE(held[0]->closed());
  std::unique_ptr<Client> again;
  for (int tries = 0; tries < 50; ++tries) {  // the server may see the close a moment later
    again = Client::tcp(g.lmtp_port());
    if (again->code() == "220") break;
    again.reset();
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(again);
}

TEST_P(GatewayTest, SigtermDrainsTransactionsAndClosesIdleSessions) {
  Gateway g(options());
  ASSERT_TRUE(g.started()) << g.process().log();
  auto idle = Client::tcp(g.lmtp_port());
  auto mid = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(greet(*idle));
  ASSERT_TRUE(greet(*mid));
  mid->send("MAIL FROM:<a@b.c>\r\nRCPT TO:<announce@lists.example.org>\r\nDATA\r\nSubject: half\r\n\r\n");
  EXPECT_EQ(mid->code(), "250");
  EXPECT_EQ(mid->code(), "250");
  EXPECT_EQ(mid->code(), "354");
  size_t mark = g.process().log_lines();
  g.process().signal(SIGTERM);
  ASSERT_TRUE(g.process().wait_log("event=draining", 5s, mark));
  EXPECT_EQ(idle->reply().substr(0, 9), "421 4.3.2");
  EXPECT_TRUE(idle->closed());
  // New connections are no longer accepted.
  auto late = Client::tcp(g.lmtp_port());
  EXPECT_TRUE(!late || late->code(1s) != "220");
  // The transaction in flight finishes, then gets the 421.
  mid->send("rest of the body\r\n.\r\n");
  EXPECT_EQ(mid->code(), "250") << g.process().log();
  EXPECT_EQ(mid->reply().substr(0, 9), "421 4.3.2");
  EXPECT_TRUE(mid->closed());
  EXPECT_EQ(g.process().wait_exit(5s), 0);
}

TEST_P(GatewayTest, UnixSocketListener) {
  GatewayOptions o = options();
  o.unix_socket = true;
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();
  auto c = Client::unix_socket(g.unix_path());
  ASSERT_TRUE(c);
  ASSERT_TRUE(greet(*c));
  c->send("MAIL FROM:<>\r\nRCPT TO:<announce-bounces+alice=example.com@lists.example.org>\r\n");
  EXPECT_EQ(c->code(), "250");
  EXPECT_EQ(c->code(), "250");
}

INSTANTIATE_TEST_SUITE_P(Backends, GatewayTest, ::testing::Values("uring", "epoll"),
                         [](const auto& info) { return info.param; });

TEST(GatewayStartup, RelayModeNeedsAWritableSpool) {
  GatewayOptions o;
  o.discard = false;
  // A spool_dir below a regular file can never be created.
  o.listgate_keys = {"spool_dir = /dev/null/spool", "bounce_log = /tmp/listgate-unused-bounces.jsonl"};
  Gateway g(o);
  EXPECT_FALSE(g.started());
  EXPECT_EQ(g.process().wait_exit(5s), 1);
  EXPECT_NE(g.process().log().find("spool_dir"), std::string::npos) << g.process().log();
}

TEST(GatewayStartup, BrokenTableAtStartIsAnError) {
  GatewayOptions o;
  o.table_json = "{\"lists\": [{\"address\": 42}]}";
  Gateway g(o);
  EXPECT_FALSE(g.started());
  EXPECT_EQ(g.process().wait_exit(5s), 1);
  EXPECT_NE(g.process().log().find("lists.json:1:"), std::string::npos) << g.process().log();
}

TEST(GatewayStartup, AutoChoosesABackendAndSaysWhich) {
  GatewayOptions o;
  o.io = "auto";
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();
  EXPECT_TRUE(g.process().wait_log("event=io_backend", 1s));
}

TEST(GatewayStartup, AutoFallsBackToEpollWhereIoUringIsRefused) {
  GatewayOptions o;
  o.io = "auto";
  o.refuse_io_uring = true;
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();
  auto why = g.process().wait_log("event=io_uring_unavailable", 1s);
  ASSERT_TRUE(why) << g.process().log();
  EXPECT_NE(why->find("Operation not permitted"), std::string::npos) << *why;
  EXPECT_TRUE(g.process().wait_log("backend=epoll", 1s));
  auto c = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(c);
  EXPECT_TRUE(greet(*c));
}

TEST(GatewayStartup, ExplicitUringWhereRefusedIsAStartError) {
  GatewayOptions o;
  o.io = "uring";
  o.refuse_io_uring = true;
  Gateway g(o);
  EXPECT_FALSE(g.started());
  EXPECT_EQ(g.process().wait_exit(5s), 1);
  EXPECT_NE(g.process().log().find("io_uring is not usable"), std::string::npos) << g.process().log();
}

}  // namespace
}  // namespace listgate::testing

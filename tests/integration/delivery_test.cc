// delivery_test.cc - `listgate serve` relaying for real: the listgate binary
// takes mail over LMTP and delivers it to listgate-sink (bench/sink), the
// project's SMTP sink with switchable faults, over 127.0.0.1. Each test
// checks what the sink recorded (its record file, `last`, `stats`), the
// bounce log and the spool.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "harness.h"

namespace listgate::testing {
namespace {

constexpr auto kDeliveryWait = 30s;  // bounded waits for retries (ASan is ~3x slower)

const std::vector<std::string> kNewsMembers = {"alice@example.com", "bob@example.net", "carol@example.org"};
const std::vector<std::string> kBigMembers = {"m1@example.com", "m2@example.com", "m3@example.com",
                                              "m4@example.com", "m5@example.com"};
const std::vector<std::string> kVerpMembers = {"alice@example.com", "dave@example.org"};

std::vector<ListSpec> standard_lists() {
  return {
      {"news@lists.example.org", kNewsMembers, {"boss@example.org", "deputy@example.org"}, false, ""},
      {"big@lists.example.org", kBigMembers, {}, false, ""},
      {"verp@lists.example.org", kVerpMembers, {}, true, ""},
  };
}

// A relaying gateway whose outbound MTA is `sink`; spool retries are fast.
GatewayOptions relay_options(const Sink& sink, std::vector<ListSpec> lists = standard_lists(),
                             std::string io = "epoll") {
  GatewayOptions o;
  o.io = std::move(io);
  o.discard = false;
  o.smtp_port = sink.smtp_port();
  o.table_json = table_json(lists);
  o.listgate_keys = {"retry_initial = 1s", "retry_max = 2s"};
  return o;
}

// A message with a Message-ID and a body line that needs dot-stuffing on the wire.
std::string message(const std::string& message_id, const std::string& subject = "test") {
  std::string m = "From: poster@example.com\r\nTo: news@lists.example.org\r\n";
  if (!message_id.empty()) m += "Message-ID: " + message_id + "\r\n";
  m += "Subject: " + subject + "\r\n\r\nHello list.\r\n.a line that starts with a dot\r\n..two dots\r\n\r\nBye.\r\n";
  return m;
}

std::unique_ptr<Client> session(Gateway& g) {
  auto c = Client::tcp(g.lmtp_port());
  if (c && !greet(*c)) return nullptr;
  return c;
}

LmtpReplies send(Gateway& g, const std::vector<std::string>& rcpts, const std::string& msg,
                 const std::string& from = "poster@example.com") {
  auto c = session(g);
  if (!c) return {};
  return lmtp_transaction(*c, from, rcpts, msg);
}

std::string first_line(const std::string& reply) { return reply.substr(0, reply.find("\r\n")); }

// The header lines of `text` up to its first empty line.
std::vector<std::string> header_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find("\r\n", pos);
    if (nl == std::string::npos || nl == pos) break;
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 2;
  }
  return lines;
}

size_t records_for(Sink& sink, const std::string& message_id, const std::string& rcpt) {
  return count_records(sink.record(), message_id, rcpt);
}

// Waits until every member has a record line for `message_id`.
bool all_recorded(Sink& sink, const std::string& message_id, const std::vector<std::string>& members) {
  return wait_until(
      [&] {
        auto rec = sink.record();
        for (const std::string& m : members)
          if (count_records(rec, message_id, m) == 0) return false;
        return true;
      },
      kDeliveryWait, 100ms);
}

bool spool_drained(Gateway& g) {
  return wait_until([&] { return g.metric("listgate_spool_entries") == 0; }, kDeliveryWait, 100ms);
}

size_t spool_files(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string ext = e.path().extension().string();
    n += ext == ".msg" || ext == ".meta";
  }
  return n;
}

CommandResult spool_listing(Gateway& g) {
  return run_command({listgate_binary(), "spool", "--spool-dir", g.spool_dir()});
}

// ---- The happy path ----------------------------------------------------------------

class FanOutTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FanOutTest, PostReachesEveryMemberWithListHeaders) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink, standard_lists(), GetParam()));
  ASSERT_TRUE(g.started()) << g.process().log();

  // Without a Message-ID: listgate adds one before its list headers.
  const std::string original = message("");
  auto r = send(g, {"news@lists.example.org"}, original);
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];

  auto last = sink.last();
  ASSERT_TRUE(last) << sink.process().log();
  ASSERT_GT(last->size(), original.size());
  // The original message, byte for byte, after the added header lines.
  EXPECT_EQ(last->substr(last->size() - original.size()), original);
  std::string prefix = last->substr(0, last->size() - original.size());
  std::vector<std::string> added = header_lines(prefix + "\r\n");
  ASSERT_EQ(added.size(), 7u) << prefix;
  ASSERT_TRUE(added[0].starts_with("Message-ID: <")) << added[0];
  EXPECT_TRUE(added[0].ends_with("@lmtp.test>")) << added[0];
  const std::string generated_id = added[0].substr(strlen("Message-ID: "));
  std::vector<std::string> rest(added.begin() + 1, added.end());
  std::sort(rest.begin(), rest.end());
  EXPECT_EQ(rest, (std::vector<std::string>{
                      "List-Help: <mailto:news-owner@lists.example.org?subject=help>",
                      "List-Id: <news.lists.example.org>",
                      "List-Post: <mailto:news@lists.example.org>",
                      "List-Unsubscribe: <mailto:news-owner@lists.example.org?subject=unsubscribe>",
                      "Precedence: list",
                      "X-BeenThere: news@lists.example.org",
                  }));

  // Every member once, envelope sender list-bounces@dom, one transaction.
  auto rec = sink.record();
  ASSERT_EQ(rec.size(), kNewsMembers.size());
  for (const std::string& m : kNewsMembers) EXPECT_EQ(count_records(rec, generated_id, m), 1u) << m;
  for (const RecordLine& l : rec) {
    EXPECT_EQ(l.mail_from, "news-bounces@lists.example.org");
    EXPECT_EQ(l.body_bytes, last->size());
  }
  EXPECT_EQ(sink.stat("mails"), 1u);
  EXPECT_EQ(sink.stat("transactions"), 1u);

  // With a Message-ID: it is kept, and none is added.
  ASSERT_EQ(sink.control("reset-stats"), "ok");
  const std::string with_id = message("<kept-1@example.com>");
  r = send(g, {"news@lists.example.org"}, with_id);
  ASSERT_EQ(r.final.size(), 1u);
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  last = sink.last();
  ASSERT_TRUE(last);
  ASSERT_GT(last->size(), with_id.size());
  EXPECT_EQ(last->substr(last->size() - with_id.size()), with_id);
  std::vector<std::string> added2 = header_lines(last->substr(0, last->size() - with_id.size()) + "\r\n");
  EXPECT_EQ(added2.size(), 6u);
  for (const std::string& h : added2) EXPECT_FALSE(h.starts_with("Message-ID")) << h;
  for (const std::string& m : kNewsMembers) EXPECT_EQ(records_for(sink, "<kept-1@example.com>", m), 1u) << m;
  EXPECT_EQ(g.metric("listgate_outbound_body_bytes_copied_total"), 0);
  EXPECT_EQ(g.metric("listgate_spool_entries"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, FanOutTest, ::testing::Values("uring", "epoll"),
                         [](const auto& info) { return info.param; });

TEST(Delivery, MaxRecipientsSplitsTransactions) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  GatewayOptions o = relay_options(sink);
  o.mta_keys = {"max_recipients = 2"};
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  auto r = send(g, {"big@lists.example.org"}, message("<split-1@example.com>"));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  // 5 members, 2 per transaction: 3 transactions.
  EXPECT_EQ(sink.stat("mails"), 3u);
  EXPECT_EQ(sink.stat("transactions"), 3u);
  EXPECT_EQ(sink.stat("rcpt_accepted"), 5u);
  auto rec = sink.record();
  EXPECT_EQ(rec.size(), kBigMembers.size());
  for (const std::string& m : kBigMembers) EXPECT_EQ(count_records(rec, "<split-1@example.com>", m), 1u) << m;
}

TEST(Delivery, VerpListOneTransactionPerMember) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  auto r = send(g, {"verp@lists.example.org"}, message("<verp-1@example.com>"));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  EXPECT_EQ(sink.stat("mails"), kVerpMembers.size());
  auto rec = sink.record();
  ASSERT_EQ(rec.size(), kVerpMembers.size());
  for (const RecordLine& l : rec) {
    EXPECT_EQ(l.message_id, "<verp-1@example.com>");
    if (l.rcpt == "alice@example.com") {
      EXPECT_EQ(l.mail_from, "verp-bounces+alice=example.com@lists.example.org");
    } else {
      EXPECT_EQ(l.rcpt, "dave@example.org");
      EXPECT_EQ(l.mail_from, "verp-bounces+dave=example.org@lists.example.org");
    }
  }
}

TEST(Delivery, LargeBodyGoesOutByteForByte) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  // About 700 KB over many receive buffers, lines of every length, some with leading dots.
  std::string msg = "From: poster@example.com\r\nMessage-ID: <large@example.com>\r\nSubject: large\r\n\r\n";
  uint32_t x = 12345;
  while (msg.size() < 700000) {
    x = x * 1103515245u + 12345u;
    size_t len = (x >> 16) % 300;
    std::string line;
    if (len % 7 == 0) line += '.';
    for (size_t i = 0; i < len; ++i) line += static_cast<char>('!' + (x + i * 31) % 94);
    msg += line + "\r\n";
  }
  auto r = send(g, {"big@lists.example.org"}, msg);
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  auto last = sink.last();
  ASSERT_TRUE(last);
  ASSERT_GT(last->size(), msg.size());
  EXPECT_TRUE(last->substr(last->size() - msg.size()) == msg) << "the body changed on the way";
  auto rec = sink.record();
  ASSERT_EQ(rec.size(), kBigMembers.size());
  for (const RecordLine& l : rec) EXPECT_EQ(l.body_bytes, last->size());
  for (const std::string& m : kBigMembers) EXPECT_EQ(count_records(rec, "<large@example.com>", m), 1u) << m;
  EXPECT_EQ(g.metric("listgate_outbound_body_bytes_copied_total"), 0);

  // The same through the spool: written, read back, sent again unchanged.
  const std::string expected_prefix = last->substr(0, last->size() - msg.size());
  ASSERT_EQ(sink.control("set data-temp-fail 1"), "ok");
  std::string again = msg;
  again.replace(again.find("<large@"), 7, "<large2@");
  r = send(g, {"big@lists.example.org"}, again);
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_NE(r.final[0].find("queued as"), std::string::npos) << r.final[0];
  ASSERT_EQ(sink.control("clear"), "ok");
  ASSERT_TRUE(all_recorded(sink, "<large2@example.com>", kBigMembers)) << g.process().log();
  last = sink.last();
  ASSERT_TRUE(last);
  EXPECT_TRUE(*last == expected_prefix + again) << "the body changed in the spool";
  rec = sink.record();
  for (const std::string& m : kBigMembers) EXPECT_EQ(count_records(rec, "<large2@example.com>", m), 1u) << m;
}

TEST(Delivery, BareLineEndsAreRepairedNotSmuggled) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  // A bare LF before ".\r\n" does not end the message here, so it must not
  // end it upstream either: the smuggled transaction stays body text.
  const std::string head = "From: poster@example.com\r\nMessage-ID: <smuggle@example.com>\r\nSubject: s\r\n\r\n";
  const std::string wire = head +
                           "line one\nline two\rline three\r\n"
                           "ends here\n.\r\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
                           "Subject: smuggled\r\n\r\nevil\r\n.\r\n";
  auto c = session(g);
  ASSERT_TRUE(c);
  auto r = lmtp_transaction_wire(*c, "poster@example.com", {"news@lists.example.org"}, wire);
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];

  const std::string repaired = head +
                               "line one\r\nline two\r\nline three\r\n"
                               "ends here\r\n.\r\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\n"
                               "DATA\r\nSubject: smuggled\r\n\r\nevil\r\n";
  auto last = sink.last();
  ASSERT_TRUE(last);
  ASSERT_GE(last->size(), repaired.size());
  EXPECT_EQ(last->substr(last->size() - repaired.size()), repaired);
  auto stats = sink.stats();
  EXPECT_EQ(stats["mails"], 1u);
  EXPECT_EQ(stats["transactions"], 1u);
  EXPECT_EQ(stats["errors"], 0u);
  auto rec = sink.record();
  EXPECT_EQ(rec.size(), kNewsMembers.size());
  for (const RecordLine& l : rec) EXPECT_NE(l.rcpt, "victim@example.com");
  EXPECT_GT(g.metric("listgate_outbound_body_bytes_copied_total"), 0);

  // The spool keeps the body as received; the retry repairs it the same way.
  const std::string prefix = last->substr(0, last->size() - repaired.size());
  ASSERT_EQ(sink.control("set data-temp-fail 1"), "ok");
  std::string wire2 = wire;
  wire2.replace(wire2.find("<smuggle@"), 9, "<smuggle2@");
  std::string repaired2 = repaired;
  repaired2.replace(repaired2.find("<smuggle@"), 9, "<smuggle2@");
  r = lmtp_transaction_wire(*c, "poster@example.com", {"news@lists.example.org"}, wire2);
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_NE(r.final[0].find("queued as"), std::string::npos) << r.final[0];
  ASSERT_EQ(sink.control("clear"), "ok");
  ASSERT_TRUE(all_recorded(sink, "<smuggle2@example.com>", kNewsMembers)) << g.process().log();
  last = sink.last();
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, prefix + repaired2);
  stats = sink.stats();
  EXPECT_EQ(stats["errors"], 0u);
  for (const RecordLine& l : sink.record()) EXPECT_NE(l.rcpt, "victim@example.com");
}

TEST(Delivery, XverpChunksWhenOffered) {
  Sink sink({.flags = {"--xverp"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  GatewayOptions o = relay_options(sink);
  o.listgate_keys.push_back("use_xverp = yes");
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  // The pool learns what the upstream offers from a first connection.
  auto r = send(g, {"news@lists.example.org"}, message("<xverp-0@example.com>"));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  ASSERT_EQ(sink.control("reset-stats"), "ok");
  r = send(g, {"verp@lists.example.org"}, message("<xverp-1@example.com>"));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  EXPECT_EQ(sink.stat("mails"), 1u);  // one chunk, the MTA makes the per-member senders
  EXPECT_EQ(sink.stat("errors"), 0u);
  auto rec = sink.record();
  for (const std::string& m : kVerpMembers) EXPECT_EQ(count_records(rec, "<xverp-1@example.com>", m), 1u) << m;
  for (const RecordLine& l : rec) {
    if (l.message_id == "<xverp-1@example.com>") {
      EXPECT_EQ(l.mail_from, "verp-bounces@lists.example.org");
    }
  }
}

TEST(Delivery, AuthenticatesUpstream) {
  Sink sink({.flags = {"--auth", "listgate:s3cr=t:x"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  GatewayOptions o = relay_options(sink);
  o.mta_keys = {"smtp_user = listgate", "smtp_pass = s3cr=t:x"};
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  auto r = send(g, {"news@lists.example.org"}, message("<auth-1@example.com>"));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  for (const std::string& m : kNewsMembers) EXPECT_EQ(records_for(sink, "<auth-1@example.com>", m), 1u) << m;
  EXPECT_GE(sink.stat("auth_ok"), 1u);
  EXPECT_EQ(sink.stat("auth_failed"), 0u);
}

TEST(Delivery, ConnectionsAreRetiredAfterMaxSessions) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  GatewayOptions o = relay_options(sink);
  o.mta_keys = {"max_recipients = 2", "max_sessions_per_connection = 2"};
  o.listgate_keys.push_back("smtp_pool_size = 1");
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  // 2 posts of 3 transactions each, 2 transactions per connection: 3 connections.
  for (int i = 0; i < 2; ++i) {
    auto r = send(g, {"big@lists.example.org"}, message("<retire-" + std::to_string(i) + "@example.com>"));
    ASSERT_EQ(r.final.size(), 1u) << g.process().log();
    EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  }
  auto stats = sink.stats();
  EXPECT_EQ(stats["transactions"], 6u);
  EXPECT_GE(stats["connections"], 3u);
  EXPECT_EQ(stats["errors"], 0u);
  auto rec = sink.record();
  for (int i = 0; i < 2; ++i)
    for (const std::string& m : kBigMembers)
      EXPECT_EQ(count_records(rec, "<retire-" + std::to_string(i) + "@example.com>", m), 1u) << m;
}

// ---- Owners, bounces, loops ------------------------------------------------------------

TEST(Delivery, OwnerMailGoesToOwnersUnchanged) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  const std::string msg = message("<owner-1@example.com>", "for the owners");
  auto r = send(g, {"news-owner@lists.example.org"}, msg);
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  auto rec = sink.record();
  ASSERT_EQ(rec.size(), 2u);
  for (const RecordLine& l : rec) {
    EXPECT_EQ(l.message_id, "<owner-1@example.com>");
    EXPECT_EQ(l.mail_from, "news-bounces@lists.example.org");
  }
  EXPECT_EQ(count_records(rec, "<owner-1@example.com>", "boss@example.org"), 1u);
  EXPECT_EQ(count_records(rec, "<owner-1@example.com>", "deputy@example.org"), 1u);
  // No list headers on owner mail.
  auto last = sink.last();
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, msg);
}

std::string dsn(const std::string& final_recipient, const std::string& original_id) {
  return "From: MAILER-DAEMON@mx.example.com\r\n"
         "To: news-bounces@lists.example.org\r\n"
         "Subject: Undelivered Mail Returned to Sender\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BOUNDARY\"\r\n"
         "\r\n"
         "--BOUNDARY\r\n"
         "Content-Type: text/plain\r\n"
         "\r\n"
         "Your message could not be delivered.\r\n"
         "--BOUNDARY\r\n"
         "Content-Type: message/delivery-status\r\n"
         "\r\n"
         "Reporting-MTA: dns; mx.example.com\r\n"
         "\r\n"
         "Final-Recipient: rfc822; " + final_recipient + "\r\n"
         "Action: failed\r\n"
         "Status: 5.1.1\r\n"
         "Diagnostic-Code: smtp; 550 5.1.1 <" + final_recipient + ">: user unknown\r\n"
         "--BOUNDARY\r\n"
         "Content-Type: text/rfc822-headers\r\n"
         "\r\n"
         "Message-ID: " + original_id + "\r\n"
         "--BOUNDARY--\r\n";
}

TEST(Delivery, BouncesAreLogged) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  // With a VERP tag the member is the tag's; without, the DSN's Final-Recipient.
  auto r = send(g, {"news-bounces+alice=example.com@lists.example.org"}, dsn("alice@example.com", "<orig-1@x>"), "");
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  r = send(g, {"news-bounces@lists.example.org"}, dsn("bob@example.net", "<orig-2@x>"), "");
  ASSERT_EQ(r.final.size(), 1u);
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];

  auto bounces = read_bounce_log(g.bounce_log());
  ASSERT_EQ(bounces.size(), 2u);
  EXPECT_EQ(bounces[0].list, "news@lists.example.org") << bounces[0].raw;
  EXPECT_EQ(bounces[0].member, "alice@example.com") << bounces[0].raw;
  EXPECT_EQ(bounces[0].status, "5.1.1") << bounces[0].raw;
  EXPECT_NE(bounces[0].diagnostic.find("user unknown"), std::string::npos) << bounces[0].raw;
  EXPECT_EQ(bounces[1].list, "news@lists.example.org") << bounces[1].raw;
  EXPECT_EQ(bounces[1].member, "bob@example.net") << bounces[1].raw;
  EXPECT_FALSE(json_string_field(bounces[0].raw, "time").empty()) << bounces[0].raw;
  // Nothing went upstream.
  EXPECT_EQ(sink.stat("mails"), 0u);
  EXPECT_EQ(g.metric("listgate_bounces_received_total"), 2);
}

TEST(Delivery, LoopIsRefusedPerRecipient) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  std::string looped = "X-BeenThere: news@lists.example.org\r\n" + message("<loop-1@example.com>");
  auto r = send(g, {"news@lists.example.org", "verp@lists.example.org"}, looped);
  ASSERT_EQ(r.final.size(), 2u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "554 5.4.6") << r.final[0];
  EXPECT_EQ(r.final[1].substr(0, 9), "250 2.0.0") << r.final[1];  // another list: not a loop
  auto rec = sink.record();
  EXPECT_EQ(count_records(rec, "<loop-1@example.com>", "bob@example.net"), 0u);
  EXPECT_EQ(count_records(rec, "<loop-1@example.com>", "carol@example.org"), 0u);
  EXPECT_EQ(count_records(rec, "<loop-1@example.com>", "dave@example.org"), 1u);
  EXPECT_EQ(g.metric("listgate_loops_total"), 1);
}

// ---- Faults --------------------------------------------------------------------------

TEST(DeliveryFaults, MemberRefusedAtRcptIsBounced) {
  Sink sink({.flags = {"--fail-rcpt", "bob=550"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  auto r = send(g, {"news@lists.example.org"}, message("<perm-rcpt@example.com>"));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  auto rec = sink.record();
  EXPECT_EQ(count_records(rec, "<perm-rcpt@example.com>", "alice@example.com"), 1u);
  EXPECT_EQ(count_records(rec, "<perm-rcpt@example.com>", "carol@example.org"), 1u);
  EXPECT_EQ(count_records(rec, "<perm-rcpt@example.com>", "bob@example.net"), 0u);
  auto bounces = read_bounce_log(g.bounce_log());
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0].member, "bob@example.net") << bounces[0].raw;
  EXPECT_EQ(bounces[0].list, "news@lists.example.org") << bounces[0].raw;
  EXPECT_EQ(bounces[0].status, "5.1.1") << bounces[0].raw;
  EXPECT_EQ(bounces[0].message_id, "<perm-rcpt@example.com>") << bounces[0].raw;
  EXPECT_NE(bounces[0].diagnostic.find("550"), std::string::npos) << bounces[0].raw;
  EXPECT_EQ(g.metric("listgate_spool_entries"), 0);
}

TEST(DeliveryFaults, MemberTempRefusedIsSpooledThenRetriedAlone) {
  Sink sink({.flags = {"--fail-rcpt", "bob=450"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  const std::string id = "<temp-rcpt@example.com>";
  auto r = send(g, {"news@lists.example.org"}, message(id));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  EXPECT_NE(r.final[0].find("queued as"), std::string::npos) << r.final[0];

  // `listgate spool` shows what is owed and why, beside the running server.
  CommandResult listing = spool_listing(g);
  ASSERT_EQ(listing.exit, 0) << listing.err;
  EXPECT_NE(listing.out.find("news@lists.example.org"), std::string::npos) << listing.out;
  EXPECT_NE(listing.out.find("1 entry, 1 recipient owed"), std::string::npos) << listing.out;
  EXPECT_NE(listing.out.find("450"), std::string::npos) << listing.out;
  EXPECT_EQ(g.metric("listgate_spool_recipients"), 1);

  // Still refused on the first retries; then the fault goes away.
  ASSERT_EQ(sink.control("clear"), "ok");
  ASSERT_TRUE(all_recorded(sink, id, kNewsMembers)) << g.process().log();
  ASSERT_TRUE(spool_drained(g));
  // The retry carries the same list headers and body.
  auto last = sink.last();
  ASSERT_TRUE(last);
  const std::string original = message(id);
  ASSERT_GT(last->size(), original.size());
  EXPECT_EQ(last->substr(last->size() - original.size()), original);
  EXPECT_EQ(header_lines(last->substr(0, last->size() - original.size()) + "\r\n").size(), 6u) << *last;
  // The retry went to bob only: nobody got the post twice.
  auto rec = sink.record();
  for (const std::string& m : kNewsMembers) EXPECT_EQ(count_records(rec, id, m), 1u) << m;
  EXPECT_EQ(rec.size(), kNewsMembers.size());
  EXPECT_TRUE(read_bounce_log(g.bounce_log()).empty());
  EXPECT_EQ(spool_files(g.spool_dir()), 0u);
  listing = spool_listing(g);
  EXPECT_EQ(listing.out, "spool is empty\n") << listing.err;
}

TEST(DeliveryFaults, TempFailureAfterDotIsRetried) {
  Sink sink({.flags = {"--data-temp-fail", "1"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  const std::string id = "<temp-data@example.com>";
  auto r = send(g, {"news@lists.example.org"}, message(id));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  EXPECT_TRUE(sink.record().empty());
  EXPECT_GE(sink.stat("data_failed"), 1u);
  EXPECT_EQ(g.metric("listgate_spool_recipients"), 3);

  ASSERT_EQ(sink.control("clear"), "ok");
  ASSERT_TRUE(all_recorded(sink, id, kNewsMembers)) << g.process().log();
  ASSERT_TRUE(spool_drained(g));
  auto rec = sink.record();
  for (const std::string& m : kNewsMembers) EXPECT_EQ(count_records(rec, id, m), 1u) << m;
  EXPECT_TRUE(read_bounce_log(g.bounce_log()).empty());
}

TEST(DeliveryFaults, PermFailureAfterDotBouncesEveryMember) {
  Sink sink({.flags = {"--data-perm-fail", "1"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  const std::string id = "<perm-data@example.com>";
  auto r = send(g, {"news@lists.example.org"}, message(id));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  EXPECT_TRUE(sink.record().empty());
  auto bounces = read_bounce_log(g.bounce_log());
  ASSERT_EQ(bounces.size(), kNewsMembers.size());
  std::vector<std::string> members;
  for (const BounceLine& b : bounces) {
    members.push_back(b.member);
    EXPECT_EQ(b.status, "5.6.0") << b.raw;
    EXPECT_EQ(b.message_id, id) << b.raw;
  }
  std::sort(members.begin(), members.end());
  EXPECT_EQ(members, kNewsMembers);
  EXPECT_EQ(g.metric("listgate_spool_entries"), 0);
}

TEST(DeliveryFaults, ConnectionDroppedMidDataIsDeliveredLater) {
  Sink sink({.flags = {"--drop-mid-data", "1"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  const std::string id = "<dropped@example.com>";
  auto r = send(g, {"news@lists.example.org", "verp@lists.example.org"}, message(id));
  ASSERT_EQ(r.final.size(), 2u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  EXPECT_EQ(r.final[1].substr(0, 9), "250 2.0.0") << r.final[1];
  EXPECT_TRUE(sink.record().empty());
  EXPECT_GE(sink.stat("drops"), 3u);  // news once, verp once per member, at least

  ASSERT_EQ(sink.control("clear"), "ok");
  ASSERT_TRUE(all_recorded(sink, id, kNewsMembers)) << g.process().log();
  ASSERT_TRUE(all_recorded(sink, id, kVerpMembers)) << g.process().log();
  ASSERT_TRUE(spool_drained(g));
  auto rec = sink.record();
  // alice is on both lists: once per list.
  EXPECT_EQ(count_records(rec, id, "alice@example.com"), 2u);
  EXPECT_EQ(count_records(rec, id, "bob@example.net"), 1u);
  EXPECT_EQ(count_records(rec, id, "carol@example.org"), 1u);
  EXPECT_EQ(count_records(rec, id, "dave@example.org"), 1u);
  EXPECT_TRUE(read_bounce_log(g.bounce_log()).empty());
}

// Random faults while transactions are pipelined with BDAT: one post makes
// eight transactions (max_recipients 1) that the pool sends together on one
// of its two connections, and the sink refuses RCPTs, refuses messages
// after LAST and drops connections mid-chunk (taking the transactions
// pipelined behind with it). Every member must get every post in the end:
// nothing lost, nothing bounced, the spool drained. (A drop can lose the
// 250 of a transaction the sink already took, as in any SMTP session, so a
// member may get a post twice; never more often than there were drops.)
TEST(DeliveryFaults, RandomFaultsUnderPipeliningLoseNothing) {
  Sink sink({.flags = {"--rcpt-temp-fail", "0.1", "--data-temp-fail", "0.1", "--drop-mid-data", "0.1", "--seed", "7"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  GatewayOptions o = relay_options(sink);
  o.mta_keys = {"max_recipients = 1"};
  o.listgate_keys.push_back("smtp_pool_size = 2");
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  constexpr int kPosts = 12;
  std::vector<std::string> ids;
  for (int i = 0; i < kPosts; ++i) {
    ids.push_back("<chaos-" + std::to_string(i) + "@example.com>");
    auto r = send(g, {"news@lists.example.org", "big@lists.example.org"}, message(ids.back()));
    ASSERT_EQ(r.final.size(), 2u) << g.process().log();
    EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
    EXPECT_EQ(r.final[1].substr(0, 9), "250 2.0.0") << r.final[1];
  }
  for (const std::string& id : ids) {
    ASSERT_TRUE(all_recorded(sink, id, kNewsMembers)) << id << "\n" << g.process().log();
    ASSERT_TRUE(all_recorded(sink, id, kBigMembers)) << id << "\n" << g.process().log();
  }
  ASSERT_TRUE(spool_drained(g));
  EXPECT_TRUE(read_bounce_log(g.bounce_log()).empty());
  const auto rec = sink.record();
  const size_t wanted = kPosts * (kNewsMembers.size() + kBigMembers.size());
  EXPECT_GE(rec.size(), wanted);
  EXPECT_LE(rec.size() - wanted, sink.stat("drops"));
  // The faults did happen, on BDAT transactions, over at most two connections at a time.
  EXPECT_GT(sink.stat("drops"), 0u);
  EXPECT_GT(sink.stat("data_failed"), 0u);
  EXPECT_GT(sink.stat("rcpt_refused"), 0u);
  EXPECT_GT(g.metric("listgate_outbound_bdat_transactions_total"), 0);
  EXPECT_LE(g.metric("listgate_outbound_connections"), 2);
}

TEST(DeliveryFaults, RetriesExpireIntoBounces) {
  Sink sink({.flags = {"--fail-rcpt", "bob=450"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  GatewayOptions o = relay_options(sink);
  o.mta_keys = {"delivery_retry_period = 2s"};
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  const std::string id = "<expire@example.com>";
  auto r = send(g, {"news@lists.example.org"}, message(id));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  ASSERT_TRUE(wait_until([&] { return !read_bounce_log(g.bounce_log()).empty(); }, kDeliveryWait, 100ms))
      << g.process().log();
  ASSERT_TRUE(spool_drained(g));
  auto bounces = read_bounce_log(g.bounce_log());
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0].member, "bob@example.net") << bounces[0].raw;
  EXPECT_EQ(bounces[0].message_id, id) << bounces[0].raw;
  EXPECT_EQ(bounces[0].status, "4.2.1") << bounces[0].raw;
  EXPECT_NE(bounces[0].diagnostic.find("delivery_retry_period"), std::string::npos) << bounces[0].raw;
  auto rec = sink.record();
  EXPECT_EQ(count_records(rec, id, "alice@example.com"), 1u);
  EXPECT_EQ(count_records(rec, id, "carol@example.org"), 1u);
  EXPECT_EQ(count_records(rec, id, "bob@example.net"), 0u);
  EXPECT_EQ(g.metric("listgate_spool_expired_total"), 1);
  EXPECT_EQ(spool_files(g.spool_dir()), 0u);
}

TEST(DeliveryFaults, OwnerMailIsRetriedUnchanged) {
  Sink sink({.flags = {"--fail-rcpt", "boss=451"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  const std::string msg = message("<owner-retry@example.com>", "to the owners");
  auto r = send(g, {"news-owner@lists.example.org", "news@lists.example.org"}, msg);
  ASSERT_EQ(r.final.size(), 2u) << g.process().log();
  EXPECT_NE(r.final[0].find("queued as"), std::string::npos) << r.final[0];
  EXPECT_EQ(r.final[1].substr(0, 9), "250 2.0.0") << r.final[1];
  ASSERT_EQ(sink.control("clear"), "ok");
  ASSERT_TRUE(all_recorded(sink, "<owner-retry@example.com>", {"boss@example.org"})) << g.process().log();
  ASSERT_TRUE(spool_drained(g));
  auto last = sink.last();
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, msg);  // owner mail gets no list headers, on the retry neither
  auto rec = sink.record();
  EXPECT_EQ(count_records(rec, "<owner-retry@example.com>", "boss@example.org"), 1u);
  EXPECT_EQ(count_records(rec, "<owner-retry@example.com>", "deputy@example.org"), 1u);
  for (const std::string& m : kNewsMembers) EXPECT_EQ(count_records(rec, "<owner-retry@example.com>", m), 1u) << m;
  for (const RecordLine& l : rec) EXPECT_EQ(l.mail_from, "news-bounces@lists.example.org");
}

TEST(DeliveryFaults, PipelinedTransactionsAnsweredInOrderWhileDelivering) {
  Sink sink({.flags = {"--delay-ms", "50", "--fail-rcpt", "m3@=550"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  // Five transactions and a NOOP in one write; delivery answers each later.
  const std::vector<std::string> to = {"news@lists.example.org", "big@lists.example.org", "verp@lists.example.org",
                                       "news-owner@lists.example.org", "big@lists.example.org"};
  std::string batch;
  for (size_t i = 0; i < to.size(); ++i) {
    batch += "MAIL FROM:<poster@example.com>\r\nRCPT TO:<" + to[i] + ">\r\nRCPT TO:<nobody@lists.example.org>\r\nDATA\r\n";
    batch += dot_stuff(message("<pipe-" + std::to_string(i) + "@example.com>"));
  }
  batch += "NOOP\r\n";
  auto c = session(g);
  ASSERT_TRUE(c);
  c->send(batch);
  for (size_t i = 0; i < to.size(); ++i) {
    EXPECT_EQ(c->code(30s), "250") << i;  // MAIL
    EXPECT_EQ(c->code(30s), "250") << i;  // RCPT
    EXPECT_EQ(c->code(30s), "550") << i;  // RCPT unknown
    EXPECT_EQ(c->code(30s), "354") << i;
    std::string reply = c->reply(30s);
    EXPECT_EQ(reply.substr(0, 9), "250 2.0.0") << i << ": " << reply;
  }
  EXPECT_EQ(c->reply(30s).substr(0, 9), "250 2.0.0");  // NOOP
  auto rec = sink.record();
  for (const std::string& m : kNewsMembers) EXPECT_EQ(count_records(rec, "<pipe-0@example.com>", m), 1u) << m;
  for (const std::string& m : kBigMembers) {
    size_t want = m == "m3@example.com" ? 0 : 1;
    EXPECT_EQ(count_records(rec, "<pipe-1@example.com>", m), want) << m;
    EXPECT_EQ(count_records(rec, "<pipe-4@example.com>", m), want) << m;
  }
  for (const std::string& m : kVerpMembers) EXPECT_EQ(count_records(rec, "<pipe-2@example.com>", m), 1u) << m;
  EXPECT_EQ(count_records(rec, "<pipe-3@example.com>", "boss@example.org"), 1u);
  EXPECT_EQ(read_bounce_log(g.bounce_log()).size(), 2u);  // m3, twice
}

TEST(DeliveryFaults, ShortOutageDoesNotStallThePool) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  GatewayOptions o = relay_options(sink);
  o.mta_keys = {"max_recipients = 1"};
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  // Five connections at once, all greeted with 421 during a short outage:
  // that is one outage, and the pool must try again a second later, not
  // after a backoff doubled once per connection.
  ASSERT_EQ(sink.control("down 421"), "ok down");
  auto r = send(g, {"big@lists.example.org"}, message("<outage@example.com>"));
  ASSERT_EQ(r.final.size(), 1u) << g.process().log();
  EXPECT_NE(r.final[0].find("queued as"), std::string::npos) << r.final[0];
  EXPECT_GE(g.metric("listgate_outbound_connect_failures_total"), 2);
  ASSERT_EQ(sink.control("up").substr(0, 5), "ok up");
  const auto up = std::chrono::steady_clock::now();
  int n = 0;
  bool direct = wait_until(
      [&] {
        auto again = send(g, {"news@lists.example.org"}, message("<after-" + std::to_string(n++) + "@example.com>"));
        return again.final.size() == 1 && again.final[0].starts_with("250") &&
               again.final[0].find("queued as") == std::string::npos;
      },
      6s, 200ms);
  EXPECT_TRUE(direct) << "posts still spooled "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - up).count()
                      << " ms after the upstream came back";
  ASSERT_TRUE(all_recorded(sink, "<outage@example.com>", kBigMembers)) << g.process().log();
  ASSERT_TRUE(spool_drained(g));
}

TEST(DeliveryFaults, RetriesExpireDuringAnOutage) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  ASSERT_EQ(sink.control("down"), "ok down");
  GatewayOptions o = relay_options(sink);
  o.mta_keys = {"delivery_retry_period = 2s"};
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  // Retried while the upstream is down, every attempt fails at once; the
  // entries run out of time in the middle of those retries.
  constexpr int kPosts = 40;
  auto c = session(g);
  ASSERT_TRUE(c);
  for (int i = 0; i < kPosts; ++i) {
    auto r = lmtp_transaction(*c, "poster@example.com", {"news@lists.example.org"},
                              message("<outage-" + std::to_string(i) + "@example.com>"));
    ASSERT_EQ(r.final.size(), 1u) << g.process().log();
    EXPECT_NE(r.final[0].find("queued as"), std::string::npos) << r.final[0];
  }
  const size_t want = kPosts * kNewsMembers.size();
  ASSERT_TRUE(wait_until([&] { return read_bounce_log(g.bounce_log()).size() >= want; }, kDeliveryWait, 100ms))
      << read_bounce_log(g.bounce_log()).size() << " bounces\n" << g.process().log();
  ASSERT_TRUE(spool_drained(g)) << g.process().log();
  auto bounces = read_bounce_log(g.bounce_log());
  EXPECT_EQ(bounces.size(), want);
  std::set<std::pair<std::string, std::string>> seen;
  for (const BounceLine& b : bounces) {
    EXPECT_NE(b.diagnostic.find("delivery_retry_period expired"), std::string::npos) << b.raw;
    seen.insert({b.message_id, b.member});
  }
  EXPECT_EQ(seen.size(), want);
  EXPECT_EQ(spool_files(g.spool_dir()), 0u);
  // Still serving.
  auto after = Client::tcp(g.lmtp_port());
  ASSERT_TRUE(after && greet(*after)) << g.process().log();
  EXPECT_EQ(g.stop(SIGTERM), 0) << g.process().log();
}

TEST(DeliveryFaults, UpstreamDownThenUp) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  // A first post opens a pooled connection, which `down` then breaks.
  auto r = send(g, {"news@lists.example.org"}, message("<before-down@example.com>"));
  ASSERT_EQ(r.final.size(), 1u);
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  ASSERT_EQ(sink.control("down"), "ok down");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back("<down-" + std::to_string(i) + "@example.com>");
    r = send(g, {"news@lists.example.org"}, message(ids.back()));
    ASSERT_EQ(r.final.size(), 1u) << g.process().log();
    EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
    EXPECT_NE(r.final[0].find("queued as"), std::string::npos) << r.final[0];
  }
  EXPECT_EQ(g.metric("listgate_spool_entries"), 3);
  ASSERT_EQ(sink.control("up").substr(0, 5), "ok up");
  for (const std::string& id : ids) ASSERT_TRUE(all_recorded(sink, id, kNewsMembers)) << id << g.process().log();
  ASSERT_TRUE(spool_drained(g));
  auto rec = sink.record();
  EXPECT_EQ(rec.size(), 4 * kNewsMembers.size());
  for (const std::string& id : ids)
    for (const std::string& m : kNewsMembers) EXPECT_EQ(count_records(rec, id, m), 1u) << id << " " << m;
}

TEST(DeliveryFaults, SlowUpstreamStillDelivers) {
  Sink sink({.flags = {"--delay-ms", "300"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  auto r = send(g, {"news@lists.example.org", "big@lists.example.org"}, message("<slow@example.com>"));
  ASSERT_EQ(r.final.size(), 2u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  EXPECT_EQ(r.final[1].substr(0, 9), "250 2.0.0") << r.final[1];
  auto rec = sink.record();
  for (const std::string& m : kNewsMembers) EXPECT_EQ(count_records(rec, "<slow@example.com>", m), 1u) << m;
  for (const std::string& m : kBigMembers) EXPECT_EQ(count_records(rec, "<slow@example.com>", m), 1u) << m;
  // Delivered at once, not through the spool.
  EXPECT_EQ(g.metric("listgate_spooled_recipients_total"), 0);
}

// ---- A list with a backend -------------------------------------------------------------

std::vector<ListSpec> lists_with_backend(uint16_t port) {
  std::vector<ListSpec> lists = standard_lists();
  lists.push_back({"dev@lists.example.org", {}, {}, false, "smtp:[127.0.0.1]:" + std::to_string(port)});
  return lists;
}

TEST(Backend, RelaysEveryAddressUnchanged) {
  Sink mta;
  Sink backend({.flags = {"--fail-rcpt", "dev-leave=550"}});
  ASSERT_TRUE(mta.started()) << mta.process().log();
  ASSERT_TRUE(backend.started()) << backend.process().log();
  Gateway g(relay_options(mta, lists_with_backend(backend.smtp_port())));
  ASSERT_TRUE(g.started()) << g.process().log();

  const std::vector<std::string> rcpts = {"dev@lists.example.org", "Dev-Request@Lists.Example.Org",
                                          "dev-owner@lists.example.org", "dev-bounces+x=y.z@lists.example.org",
                                          "dev-leave@lists.example.org", "dev-confirm+TOKEN123@lists.example.org"};
  const std::string msg = message("<relay-1@example.com>", "subscribe");
  auto r = send(g, rcpts, msg, "someone@example.com");
  ASSERT_EQ(r.rcpt.size(), rcpts.size());
  for (size_t i = 0; i < rcpts.size(); ++i) EXPECT_EQ(r.rcpt[i].substr(0, 3), "250") << rcpts[i];
  ASSERT_EQ(r.final.size(), rcpts.size()) << g.process().log();
  for (size_t i = 0; i < rcpts.size(); ++i) {
    if (rcpts[i] == "dev-leave@lists.example.org") {
      // The backend's own refusal, passed on.
      EXPECT_EQ(first_line(r.final[i]), "550 5.1.1 Recipient refused (sink fault)") << rcpts[i];
    } else {
      EXPECT_TRUE(r.final[i].starts_with("250 2.0.0 Ok: queued as")) << rcpts[i] << ": " << r.final[i];
    }
  }
  // One transaction, addresses and sender as given, the message untouched.
  EXPECT_EQ(backend.stat("mails"), 1u);
  auto rec = backend.record();
  ASSERT_EQ(rec.size(), rcpts.size() - 1);
  for (size_t i = 0, k = 0; i < rcpts.size(); ++i) {
    if (rcpts[i] == "dev-leave@lists.example.org") continue;
    EXPECT_EQ(rec[k].rcpt, rcpts[i]);
    EXPECT_EQ(rec[k].mail_from, "someone@example.com");
    EXPECT_EQ(rec[k].message_id, "<relay-1@example.com>");
    ++k;
  }
  auto last = backend.last();
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, msg);
  EXPECT_EQ(mta.stat("mails"), 0u);

  // A failure after the dot is the backend's too: 451 for every recipient.
  ASSERT_EQ(backend.control("set data-temp-fail 1"), "ok");
  r = send(g, {"dev@lists.example.org", "dev-join@lists.example.org"}, message("<relay-2@example.com>"));
  ASSERT_EQ(r.final.size(), 2u);
  for (const std::string& f : r.final) EXPECT_EQ(first_line(f), "451 4.3.0 Temporary failure (sink fault)");
  EXPECT_EQ(g.metric("listgate_spool_entries"), 0);  // the MTA retries relayed mail, not listgate
}

TEST(Backend, UnreachableBackendIs451) {
  Sink mta;
  Sink backend;
  ASSERT_TRUE(mta.started()) << mta.process().log();
  ASSERT_TRUE(backend.started()) << backend.process().log();
  Gateway g(relay_options(mta, lists_with_backend(backend.smtp_port())));
  ASSERT_TRUE(g.started()) << g.process().log();
  ASSERT_EQ(backend.control("down"), "ok down");

  auto r = send(g, {"dev@lists.example.org", "news@lists.example.org", "dev-request@lists.example.org"},
                message("<unreachable@example.com>"));
  ASSERT_EQ(r.final.size(), 3u) << g.process().log();
  EXPECT_EQ(r.final[0].substr(0, 9), "451 4.4.1") << r.final[0];
  EXPECT_EQ(r.final[1].substr(0, 9), "250 2.0.0") << r.final[1];  // the post is not the backend's
  EXPECT_EQ(r.final[2].substr(0, 9), "451 4.4.1") << r.final[2];
  EXPECT_EQ(g.metric("listgate_relay_unreachable_total"), 2);
  for (const std::string& m : kNewsMembers) EXPECT_EQ(records_for(mta, "<unreachable@example.com>", m), 1u) << m;

  // Back up: relayed again.
  ASSERT_EQ(backend.control("up").substr(0, 5), "ok up");
  bool relayed = wait_until(
      [&] {
        auto again = send(g, {"dev@lists.example.org"}, message("<reachable@example.com>"));
        return again.final.size() == 1 && again.final[0].starts_with("250");
      },
      kDeliveryWait, 500ms);
  EXPECT_TRUE(relayed) << g.process().log();
  EXPECT_GE(records_for(backend, "<reachable@example.com>", "dev@lists.example.org"), 1u);
}

// ---- Shutdown --------------------------------------------------------------------------

TEST(Shutdown, SigtermLetsADeliveryInFlightFinish) {
  Sink sink({.flags = {"--delay-ms", "300"}});
  ASSERT_TRUE(sink.started()) << sink.process().log();
  Gateway g(relay_options(sink));
  ASSERT_TRUE(g.started()) << g.process().log();

  auto c = session(g);
  ASSERT_TRUE(c);
  c->send("MAIL FROM:<poster@example.com>\r\nRCPT TO:<news@lists.example.org>\r\nDATA\r\n");
  ASSERT_EQ(c->code(), "250");
  ASSERT_EQ(c->code(), "250");
  ASSERT_EQ(c->code(), "354");
  c->send(dot_stuff(message("<in-flight@example.com>")));
  // The outbound transaction has begun (the sink answers it slowly).
  ASSERT_TRUE(wait_until([&] { return sink.stat("mails") >= 1; }, 10s)) << g.process().log();
  g.process().signal(SIGTERM);
  std::string reply = c->reply(30s);
  EXPECT_EQ(reply.substr(0, 9), "250 2.0.0") << reply << g.process().log();
  EXPECT_EQ(g.process().wait_exit(30s), 0) << g.process().log();
  auto rec = sink.record();
  for (const std::string& m : kNewsMembers) EXPECT_EQ(count_records(rec, "<in-flight@example.com>", m), 1u) << m;
}

// ---- Restart ---------------------------------------------------------------------------

TEST(Restart, SpooledPostsAreDeliveredAfterRestart) {
  Sink sink;
  ASSERT_TRUE(sink.started()) << sink.process().log();
  ASSERT_EQ(sink.control("down"), "ok down");
  GatewayOptions o = relay_options(sink);
  Gateway g(o);
  ASSERT_TRUE(g.started()) << g.process().log();

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back("<restart-" + std::to_string(i) + "@example.com>");
    auto r = send(g, {"news@lists.example.org"}, message(ids.back()));
    ASSERT_EQ(r.final.size(), 1u) << g.process().log();
    EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  }
  // One without a Message-ID: the one it was given is kept across the restart.
  auto r = send(g, {"verp@lists.example.org"}, message(""));
  ASSERT_EQ(r.final.size(), 1u);
  EXPECT_EQ(r.final[0].substr(0, 9), "250 2.0.0") << r.final[0];
  CommandResult listing = spool_listing(g);
  EXPECT_NE(listing.out.find("4 entries, 11 recipients owed"), std::string::npos) << listing.out << listing.err;

  ASSERT_EQ(g.stop(SIGTERM), 0) << g.process().log();
  ASSERT_TRUE(g.start()) << g.process().log();
  auto loaded = g.process().wait_log("event=spool_loaded", 5s);
  ASSERT_TRUE(loaded) << g.process().log();
  EXPECT_NE(loaded->find("entries=4"), std::string::npos) << *loaded;
  EXPECT_EQ(g.metric("listgate_spool_entries"), 4);

  ASSERT_EQ(sink.control("up").substr(0, 5), "ok up");
  for (const std::string& id : ids) ASSERT_TRUE(all_recorded(sink, id, kNewsMembers)) << id << g.process().log();
  ASSERT_TRUE(spool_drained(g)) << g.process().log();
  auto rec = sink.record();
  ASSERT_EQ(rec.size(), 3 * kNewsMembers.size() + kVerpMembers.size());
  for (const std::string& id : ids)
    for (const std::string& m : kNewsMembers) EXPECT_EQ(count_records(rec, id, m), 1u) << id << " " << m;
  // The VERP post: its generated Message-ID, per-member senders.
  std::string verp_id;
  for (const RecordLine& l : rec) {
    if (l.mail_from.starts_with("verp-bounces+")) {
      EXPECT_TRUE(l.message_id.ends_with("@lmtp.test>")) << l.message_id;
      if (verp_id.empty()) verp_id = l.message_id;
      EXPECT_EQ(l.message_id, verp_id);
    }
  }
  EXPECT_EQ(count_records(rec, verp_id, "alice@example.com"), 1u);
  EXPECT_EQ(count_records(rec, verp_id, "dave@example.org"), 1u);
  EXPECT_EQ(spool_files(g.spool_dir()), 0u);
  EXPECT_TRUE(read_bounce_log(g.bounce_log()).empty());
  EXPECT_EQ(g.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace listgate::testing

// smtp_client_test.cc - the SMTP/LMTP client machine: commands, replies, results.
//
// Each test plays the server: it feeds scripted replies and checks what the
// client sent and what it reported. The split tests run one long
// conversation whole, byte by byte and in random chunks and require the
// same bytes out and the same results.
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "listgate/delivery/smtp_body.h"
#include "smtp_harness.h"

namespace listgate::delivery {
namespace {

using smtp_test::bytewise;
using smtp_test::chain_of;
using smtp_test::Driver;
using smtp_test::random_splits;
using smtp_test::Splitter;
using smtp_test::visible;
using smtp_test::whole;

constexpr std::string_view kGreeting = "220 mx.example.org ESMTP\r\n";
// Everything but CHUNKING: these servers get DATA.
constexpr std::string_view kEhloFull =
    "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
    "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 XVERP\r\n";
// And with CHUNKING: BDAT, and transactions pipelined behind one another.
constexpr std::string_view kEhloChunking =
    "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
    "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-XVERP\r\n250 CHUNKING\r\n";
constexpr std::string_view kEhloPlain = "250-mx.example.org\r\n250 ENHANCEDSTATUSCODES\r\n";
constexpr std::string_view kBody = "Subject: test\r\n\r\nHello.\r\n";

ClientConfig smtp_config() {
  ClientConfig c;
  c.helo_name = "gw.example.org";
  return c;
}

ClientConfig lmtp_config() {
  ClientConfig c = smtp_config();
  c.protocol = Protocol::lmtp;
  return c;
}

// Job::recipients are views: the addresses of the tests live as long as the process.
std::string_view kept(std::string address) {
  static std::deque<std::string> addresses;
  return addresses.emplace_back(std::move(address));
}

Job job(uint64_t id, std::vector<std::string> recipients, const io::SliceChain* body) {
  Job j;
  j.id = id;
  j.sender = "list-bounces@lists.example.org";
  for (std::string& r : recipients) j.recipients.push_back(kept(std::move(r)));
  j.body = body;
  return j;
}

Reply reply(int code, std::string enhanced, std::string text) { return Reply{code, std::move(enhanced), std::move(text)}; }

class Client : public ::testing::Test {
 protected:
  // Connects and completes the handshake with the given EHLO reply.
  void handshake(Driver& d, std::string_view ehlo_reply) {
    d.client().connected();
    EXPECT_EQ(d.client().state(), ClientState::greeting);
    d.feed(kGreeting);
    EXPECT_EQ(d.output(), "EHLO gw.example.org\r\n");
    d.feed(ehlo_reply);
    EXPECT_EQ(d.client().state(), ClientState::ready);
  }

  io::BufferPool pool_{4096, 8};
  io::SliceChain body_ = chain_of(pool_, kBody, {9, 9});
};

TEST_F(Client, HandshakeParsesExtensions) {
  Driver d(smtp_config());
  EXPECT_EQ(d.client().state(), ClientState::connecting);
  EXPECT_TRUE(d.client().can_submit());
  handshake(d, kEhloChunking);
  const Extensions& e = d.client().extensions();
  EXPECT_TRUE(e.pipelining && e.size && e.eightbitmime && e.smtputf8 && e.xverp && e.chunking);
  EXPECT_EQ(e.size_limit, 100000u);
  EXPECT_FALSE(d.client().wants_close());
  EXPECT_FALSE(d.client().has_output());
}

TEST_F(Client, PipelinedTransactionSendsOneGroupAndBodyOnlyAfter354) {
  Driver d(smtp_config());
  d.track(body_);
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(7, {"a@example.com", "b@example.net"}, &body_)).ok());
  EXPECT_EQ(d.client().state(), ClientState::busy);
  EXPECT_FALSE(d.client().can_submit());
  std::vector<OutSegment> group = d.client().take_output();
  ASSERT_EQ(group.size(), 1u);  // one write for the whole group
  EXPECT_EQ(group[0].bytes,
            "MAIL FROM:<list-bounces@lists.example.org> SIZE=" + std::to_string(kBody.size()) + "\r\n"
            "RCPT TO:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
  d.feed("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
  EXPECT_EQ(d.output(), "");  // no body before 354
  d.feed("250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(d.output(), std::string(kBody) + ".\r\n");
  EXPECT_FALSE(d.client().has_results());
  d.feed("250 2.0.0 Ok: queued as 4Q2\r\n");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 7u);
  EXPECT_FALSE(r[0].connection_failed);
  EXPECT_EQ(r[0].recipients, (std::vector<Reply>{reply(250, "2.0.0", "Ok: queued as 4Q2"),
                                                 reply(250, "2.0.0", "Ok: queued as 4Q2")}));
  EXPECT_EQ(d.client().state(), ClientState::ready);
  EXPECT_TRUE(d.client().can_submit());
}

// RCPT replies in every shape: accepted ones in a run (read without the
// general parser), a multi-line 250, a line cut between two reads, a
// refusal inside the run, a bare 250, a bare-LF line end.
TEST_F(Client, RcptRepliesInEveryShape) {
  Driver d(smtp_config());
  d.track(body_);
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(3, {"a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org", "f@x.org"}, &body_))
                  .ok());
  d.output();
  d.feed("250 2.1.0 Ok\r\n250 2.1.5 a\r\n250-2.1.5 b first\r\n250 2.1.5 b second\r\n25");
  EXPECT_EQ(d.output(), "");
  d.feed("0 2.1.5 c\r\n550 5.1.1 d unknown\r\n250\r\n251 2.1.5 f forwarded\n354 go\r\n");
  EXPECT_EQ(d.output(), std::string(kBody) + ".\r\n");
  d.feed("250 2.0.0 Ok: queued as 9\r\n");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  const Reply ok = reply(250, "2.0.0", "Ok: queued as 9");
  EXPECT_EQ(r[0].recipients, (std::vector<Reply>{ok, ok, ok, reply(550, "5.1.1", "d unknown"), ok, ok}));
}

TEST_F(Client, BodySegmentsPointAtTheOriginalSlices) {
  Driver d(smtp_config());
  d.track(body_);
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {"a@example.com"}, &body_)).ok());
  d.output();
  d.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  std::vector<OutSegment> segs = d.client().take_output();
  ASSERT_EQ(segs.size(), 4u);  // three body slices, then ".\r\n"
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(segs[i].is_slice);
    EXPECT_EQ(segs[i].slice.buffer.get(), body_[i].buffer.get());
    EXPECT_EQ(segs[i].slice.offset, body_[i].offset);
    EXPECT_EQ(segs[i].slice.length, body_[i].length);
  }
  EXPECT_FALSE(segs[3].is_slice);
  EXPECT_EQ(segs[3].bytes, ".\r\n");
  EXPECT_EQ(d.counters().body_bytes_copied, 0u);
  EXPECT_EQ(d.counters().body_bytes_referenced, kBody.size());
}

TEST_F(Client, HeaderPrefixGoesFirstAndCountsInSize) {
  Driver d(smtp_config());
  d.track(body_);
  handshake(d, kEhloFull);
  Job j = job(1, {"a@example.com"}, &body_);
  j.header_prefix = "List-Id: <x.lists.example.org>\r\nPrecedence: list\r\n";
  ASSERT_TRUE(d.client().submit(j).ok());
  const std::string size = std::to_string(j.header_prefix.size() + kBody.size());
  EXPECT_TRUE(d.output().starts_with("MAIL FROM:<list-bounces@lists.example.org> SIZE=" + size + "\r\nRCPT "));
  d.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(d.output(), j.header_prefix + std::string(kBody) + ".\r\n");
  EXPECT_TRUE(d.references_ok());
}

TEST_F(Client, MailParametersOnlyWhenOfferedAndAsked) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  Job j = job(1, {"ü@example.com"}, nullptr);
  j.body_8bit = true;
  j.xverp = true;
  ASSERT_TRUE(d.client().submit(j).ok());
  EXPECT_EQ(d.output(),
            "MAIL FROM:<list-bounces@lists.example.org> SIZE=0 BODY=8BITMIME SMTPUTF8 XVERP\r\n"
            "RCPT TO:<ü@example.com>\r\nDATA\r\n");

  Driver plain(smtp_config());
  handshake(plain, "250-mx\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n");
  Job k = job(2, {"a@example.com"}, nullptr);
  k.body_8bit = true;  // sent as it is, without BODY=
  k.xverp = true;      // not offered: left out
  k.smtputf8 = true;
  ASSERT_TRUE(plain.client().submit(k).ok());
  EXPECT_EQ(plain.output(), "MAIL FROM:<list-bounces@lists.example.org> SMTPUTF8\r\nRCPT TO:<a@example.com>\r\nDATA\r\n");
}

TEST_F(Client, Smtputf8NeededButNotOfferedFailsPermanentlyWithoutSending) {
  Driver d(smtp_config());
  handshake(d, "250-mx\r\n250 PIPELINING\r\n");
  Job j = job(3, {"a@example.com", "b@example.com"}, &body_);
  j.smtputf8 = true;
  ASSERT_TRUE(d.client().submit(j).ok());
  EXPECT_EQ(d.output(), "");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].recipients.size(), 2u);
  for (const Reply& x : r[0].recipients) {
    EXPECT_EQ(x.code, 550);
    EXPECT_EQ(x.enhanced, "5.6.7");
  }
  EXPECT_EQ(d.client().state(), ClientState::ready);
  // A non-ASCII address needs it too.
  ASSERT_TRUE(d.client().submit(job(4, {"jörg@example.com"}, &body_)).ok());
  EXPECT_EQ(d.results()[0].recipients[0].enhanced, "5.6.7");
  EXPECT_EQ(d.client().transactions(), 0u);
}

TEST_F(Client, MessageOverTheServerSizeLimitIsNotSent) {
  Driver d(smtp_config());
  handshake(d, "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
  ASSERT_TRUE(d.client().submit(job(5, {"a@example.com"}, &body_)).ok());
  EXPECT_EQ(d.output(), "");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0].code, 552);
  EXPECT_EQ(r[0].recipients[0].enhanced, "5.3.4");
}

TEST_F(Client, AddressesThatWouldBreakTheCommandLineAreRefusedLocally) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(6, {"a@example.com\r\nRSET", "ok@example.com", "<x>"}, nullptr)).ok());
  EXPECT_EQ(d.output(), "MAIL FROM:<list-bounces@lists.example.org> SIZE=0\r\nRCPT TO:<ok@example.com>\r\nDATA\r\n");
  d.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(d.output(), ".\r\n");  // empty body: just the dot
  d.feed("250 2.0.0 queued\r\n");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0], reply(501, "5.1.3", "bad recipient address syntax"));
  EXPECT_EQ(r[0].recipients[1].code, 250);
  EXPECT_EQ(r[0].recipients[2].code, 501);

  Job bad = job(7, {"ok@example.com"}, nullptr);
  bad.sender = "x\ny";
  ASSERT_TRUE(d.client().submit(bad).ok());
  EXPECT_EQ(d.output(), "");
  EXPECT_EQ(d.results()[0].recipients[0], reply(501, "5.1.7", "bad sender address syntax"));
}

TEST_F(Client, PerRecipientRefusalsAndTheDotReplyForTheRest) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org", "c@x.org", "d@x.org"}, &body_)).ok());
  d.output();
  d.feed("250 2.1.0 Ok\r\n550 5.1.1 <a@x.org>: Recipient address rejected\r\n250 2.1.5 Ok\r\n"
         "450-4.2.0 <c@x.org>: greylisted,\r\n450 4.2.0 try again later\r\n250 2.1.5 Ok\r\n354 go\r\n");
  EXPECT_EQ(d.output(), std::string(kBody) + ".\r\n");
  d.feed("451 4.3.0 Error: queue file write error\r\n");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients, (std::vector<Reply>{
                                 reply(550, "5.1.1", "<a@x.org>: Recipient address rejected"),
                                 reply(451, "4.3.0", "Error: queue file write error"),
                                 reply(450, "4.2.0", "<c@x.org>: greylisted, try again later"),
                                 reply(451, "4.3.0", "Error: queue file write error"),
                             }));
  EXPECT_FALSE(r[0].connection_failed);
}

TEST_F(Client, MailRefusedAnswersEveryRecipient) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org"}, &body_)).ok());
  d.output();
  d.feed("553 5.7.1 <list-bounces@lists.example.org>: Sender address rejected\r\n"
         "503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n"
         "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(d.output(), "");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  for (const Reply& x : r[0].recipients) EXPECT_EQ(x.line(), "553 5.7.1 <list-bounces@lists.example.org>: Sender address rejected");
  // MAIL was refused: the server holds no transaction, no RSET needed.
  ASSERT_TRUE(d.client().submit(job(2, {"a@x.org"}, nullptr)).ok());
  EXPECT_TRUE(d.output().starts_with("MAIL FROM:"));
}

TEST_F(Client, AllRecipientsRefusedPipelinedDataRefusedThenRset) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org"}, &body_)).ok());
  d.output();
  d.feed("250 2.1.0 Ok\r\n550 5.1.1 no\r\n551 5.1.6 moved\r\n503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(d.output(), "");  // no body
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0].code, 550);
  EXPECT_EQ(r[0].recipients[1].code, 551);
  ASSERT_TRUE(d.client().submit(job(2, {"c@x.org"}, nullptr)).ok());
  EXPECT_EQ(d.output(), "RSET\r\nMAIL FROM:<list-bounces@lists.example.org> SIZE=0\r\nRCPT TO:<c@x.org>\r\nDATA\r\n");
  d.feed("250 2.0.0 Ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(d.output(), ".\r\n");
  d.feed("250 2.0.0 Ok\r\n");
  EXPECT_EQ(d.results()[0].recipients[0].code, 250);
}

TEST_F(Client, AllRecipientsRefusedButServerSays354SendsAnEmptyMessage) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org"}, &body_)).ok());
  d.output();
  d.feed("250 ok\r\n550 5.1.1 no\r\n354 go ahead anyway\r\n");
  EXPECT_EQ(d.output(), ".\r\n");  // the DATA phase closed, the body not sent
  EXPECT_FALSE(d.client().has_results());
  d.feed("554 5.5.1 Error: no valid recipients\r\n");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0], reply(550, "5.1.1", "no"));  // the RCPT reply stands
  EXPECT_EQ(d.counters().body_bytes_referenced, 0u);
  // The DATA phase ended: the server is out of the transaction, no RSET.
  ASSERT_TRUE(d.client().submit(job(2, {"c@x.org"}, nullptr)).ok());
  EXPECT_TRUE(d.output().starts_with("MAIL FROM:"));
}

TEST_F(Client, WithoutPipeliningOneCommandPerReply) {
  Driver d(smtp_config());
  handshake(d, kEhloPlain);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org"}, &body_)).ok());
  EXPECT_EQ(d.output(), "MAIL FROM:<list-bounces@lists.example.org>\r\n");
  d.feed("250 ok\r\n");
  EXPECT_EQ(d.output(), "RCPT TO:<a@x.org>\r\n");
  d.feed("550 5.1.1 no\r\n");
  EXPECT_EQ(d.output(), "RCPT TO:<b@x.org>\r\n");
  d.feed("250 ok\r\n");
  EXPECT_EQ(d.output(), "DATA\r\n");
  d.feed("354 go\r\n");
  EXPECT_EQ(d.output(), std::string(kBody) + ".\r\n");
  d.feed("250 2.0.0 queued\r\n");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0].code, 550);
  EXPECT_EQ(r[0].recipients[1].code, 250);
}

TEST_F(Client, WithoutPipeliningNoDataWhenEveryRecipientFailedThenRset) {
  Driver d(smtp_config());
  handshake(d, kEhloPlain);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org"}, &body_)).ok());
  d.output();
  d.feed("250 ok\r\n");
  d.output();
  d.feed("550 5.1.1 no\r\n");
  EXPECT_EQ(d.output(), "");  // no DATA
  ASSERT_EQ(d.results().size(), 1u);
  ASSERT_TRUE(d.client().submit(job(2, {"b@x.org"}, nullptr)).ok());
  EXPECT_EQ(d.output(), "RSET\r\n");
  d.feed("250 ok\r\n");
  EXPECT_EQ(d.output(), "MAIL FROM:<list-bounces@lists.example.org>\r\n");
}

TEST_F(Client, WithoutPipeliningMailRefusedStopsThere) {
  Driver d(smtp_config());
  handshake(d, kEhloPlain);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org"}, &body_)).ok());
  d.output();
  d.feed("451 4.3.0 try later\r\n");
  EXPECT_EQ(d.output(), "");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[1], reply(451, "4.3.0", "try later"));
}

TEST_F(Client, EhloRefusedFallsBackToHeloWithoutExtensions) {
  Driver d(smtp_config());
  d.client().connected();
  d.feed(kGreeting);
  d.output();
  d.feed("502 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(d.output(), "HELO gw.example.org\r\n");
  EXPECT_EQ(d.client().state(), ClientState::hello);
  d.feed("250 mx.example.org\r\n");
  EXPECT_EQ(d.client().state(), ClientState::ready);
  EXPECT_FALSE(d.client().extensions().pipelining);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org"}, nullptr)).ok());
  EXPECT_EQ(d.output(), "MAIL FROM:<list-bounces@lists.example.org>\r\n");
}

TEST_F(Client, EhloTemporaryRefusalFailsTheConnection) {
  Driver d(smtp_config());
  d.client().connected();
  d.feed(kGreeting);
  d.output();
  d.feed("454 4.7.0 not now\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
  EXPECT_EQ(d.client().failure(), reply(454, "4.7.0", "not now"));
  EXPECT_EQ(d.output(), "QUIT\r\n");
}

TEST_F(Client, GreetingRefused) {
  Driver d(smtp_config());
  d.client().connected();
  d.feed("554 5.7.1 go away\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
  EXPECT_TRUE(d.client().wants_close());
  EXPECT_EQ(d.client().failure().code, 554);
  EXPECT_EQ(d.output(), "QUIT\r\n");
  EXPECT_FALSE(d.client().submit(job(1, {"a@x.org"}, nullptr)).ok());

  Driver busy(smtp_config());
  busy.client().connected();
  busy.feed("421 4.3.2 too busy\r\n");
  EXPECT_EQ(busy.client().state(), ClientState::failed);
  EXPECT_EQ(busy.client().failure(), reply(421, "4.3.2", "too busy"));
  EXPECT_EQ(busy.output(), "");  // 421: the server is closing, say nothing
}

TEST_F(Client, JobSubmittedBeforeTheHandshakeWaitsForIt) {
  Driver d(smtp_config());
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org"}, nullptr)).ok());
  EXPECT_FALSE(d.client().can_submit());
  d.client().connected();
  d.feed(kGreeting);
  EXPECT_EQ(d.output(), "EHLO gw.example.org\r\n");
  d.feed(kEhloFull);
  EXPECT_EQ(d.client().state(), ClientState::busy);
  EXPECT_EQ(d.output(), "MAIL FROM:<list-bounces@lists.example.org> SIZE=0\r\nRCPT TO:<a@x.org>\r\nDATA\r\n");
}

TEST_F(Client, JobWaitingForAFailedHandshakeGetsSyntheticResults) {
  Driver d(smtp_config());
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org"}, nullptr)).ok());
  d.client().connected();
  d.feed("554 no\r\n");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].connection_failed);
  EXPECT_EQ(r[0].recipients[0], reply(451, "4.4.2", "connection failed: 554 no"));
}

TEST_F(Client, AuthPlain) {
  ClientConfig c = smtp_config();
  c.auth_user = "user";
  c.auth_password = "pass";
  Driver d(c);
  d.client().connected();
  d.feed(kGreeting);
  d.output();
  d.feed("250-mx\r\n250-PIPELINING\r\n250 AUTH LOGIN PLAIN\r\n");
  EXPECT_EQ(d.client().state(), ClientState::hello);
  EXPECT_EQ(d.output(), "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
  d.feed("235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(d.client().state(), ClientState::ready);
}

TEST_F(Client, AuthLogin) {
  ClientConfig c = smtp_config();
  c.auth_user = "user";
  c.auth_password = "pass";
  Driver d(c);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org"}, nullptr)).ok());
  d.client().connected();
  d.feed(kGreeting);
  d.output();
  d.feed("250-mx\r\n250 AUTH=LOGIN\r\n");
  EXPECT_EQ(d.output(), "AUTH LOGIN\r\n");
  d.feed("334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(d.output(), "dXNlcg==\r\n");
  d.feed("334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(d.output(), "cGFzcw==\r\n");
  d.feed("235 2.7.0 ok\r\n");
  EXPECT_EQ(d.output(), "MAIL FROM:<list-bounces@lists.example.org>\r\n");
}

TEST_F(Client, AuthRefusedFailsTheConnectionWithTheServersReply) {
  ClientConfig c = smtp_config();
  c.auth_user = "user";
  c.auth_password = "wrong";
  Driver d(c);
  ASSERT_TRUE(d.client().submit(job(9, {"a@x.org"}, nullptr)).ok());
  d.client().connected();
  d.feed(kGreeting);
  d.feed("250-mx\r\n250 AUTH PLAIN\r\n");
  d.output();
  d.feed("535 5.7.8 Error: authentication failed\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
  EXPECT_EQ(d.client().failure(), reply(535, "5.7.8", "Error: authentication failed"));
  EXPECT_EQ(d.output(), "QUIT\r\n");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0].code, 451);
  EXPECT_EQ(r[0].recipients[0].enhanced, "4.4.2");
}

TEST_F(Client, AuthConfiguredButNotOfferedFails) {
  ClientConfig c = smtp_config();
  c.auth_user = "user";
  c.auth_password = "pass";
  Driver d(c);
  d.client().connected();
  d.feed(kGreeting);
  d.feed("250-mx\r\n250 AUTH CRAM-MD5\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
  EXPECT_EQ(d.client().failure().code, 454);
}

TEST_F(Client, NoAuthWithoutBothUserAndPassword) {
  ClientConfig c = smtp_config();
  c.auth_user = "user";
  Driver d(c);
  handshake(d, "250-mx\r\n250 AUTH PLAIN\r\n");
}

TEST_F(Client, LmtpRepliesPerAcceptedRecipientInRcptOrder) {
  Driver d(lmtp_config());
  d.track(body_);
  d.client().connected();
  d.feed("220 backend LMTP ready\r\n");
  EXPECT_EQ(d.output(), "LHLO gw.example.org\r\n");
  d.feed("250-backend\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n");
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org", "c@x.org"}, &body_)).ok());
  EXPECT_EQ(d.output(), "MAIL FROM:<list-bounces@lists.example.org>\r\nRCPT TO:<a@x.org>\r\nRCPT TO:<b@x.org>\r\n"
                        "RCPT TO:<c@x.org>\r\nDATA\r\n");
  d.feed("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(d.output(), std::string(kBody) + ".\r\n");
  d.feed("250 2.0.0 a delivered\r\n");
  EXPECT_FALSE(d.client().has_results());
  d.feed("452 4.2.2 c over quota\r\n");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients, (std::vector<Reply>{reply(250, "2.0.0", "a delivered"),
                                                 reply(550, "5.1.1", "no such user"),
                                                 reply(452, "4.2.2", "c over quota")}));
}

TEST_F(Client, LmtpDoesNotFallBackToHelo) {
  Driver d(lmtp_config());
  d.client().connected();
  d.feed("220 x\r\n");
  d.output();
  d.feed("500 5.5.1 what\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
  EXPECT_EQ(d.output(), "QUIT\r\n");
}

TEST_F(Client, Lmtp354WithNoAcceptedRecipientIsAProtocolError) {
  Driver d(lmtp_config());
  d.client().connected();
  d.feed("220 x\r\n250-x\r\n250 PIPELINING\r\n");
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org"}, &body_)).ok());
  d.output();
  d.feed("250 ok\r\n550 5.1.1 no\r\n354 go\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
  EXPECT_EQ(d.output(), "");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].connection_failed);  // the RCPT reply was final
  EXPECT_EQ(r[0].recipients[0].code, 550);
  EXPECT_EQ(d.counters().protocol_errors, 1u);
}

TEST_F(Client, ConnectionLostMidDataLeavesOnlyOpenRecipientsTemporary) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org", "c@x.org"}, &body_)).ok());
  d.output();
  d.feed("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n250 ok\r\n354 go\r\n");
  d.output();
  d.client().connection_lost();
  EXPECT_EQ(d.client().state(), ClientState::failed);
  EXPECT_TRUE(d.client().wants_close());
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].connection_failed);
  EXPECT_EQ(r[0].recipients, (std::vector<Reply>{reply(451, "4.4.2", "connection lost"), reply(550, "5.1.1", "no"),
                                                 reply(451, "4.4.2", "connection lost")}));
  d.feed("250 late\r\n");  // ignored after failure
  EXPECT_EQ(d.output(), "");
  EXPECT_FALSE(d.client().has_results());
}

TEST_F(Client, LmtpConnectionLostAfterSomeFinalReplies) {
  Driver d(lmtp_config());
  d.client().connected();
  d.feed("220 x\r\n250-x\r\n250 PIPELINING\r\n");
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org"}, &body_)).ok());
  d.feed("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 2.0.0 a done\r\n");
  d.client().connection_lost();
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0], reply(250, "2.0.0", "a done"));
  EXPECT_EQ(r[0].recipients[1], reply(451, "4.4.2", "connection lost"));
}

TEST_F(Client, ServiceClosingMidTransactionAnswersOpenRecipientsWith421) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org"}, &body_)).ok());
  d.output();
  d.feed("250 ok\r\n550 5.1.1 no\r\n421 4.4.2 mx.example.org Error: timeout exceeded\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
  EXPECT_EQ(d.client().failure().code, 421);
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0].code, 550);
  EXPECT_EQ(r[0].recipients[1], reply(421, "4.4.2", "mx.example.org Error: timeout exceeded"));
}

TEST_F(Client, GarbageAndOutOfPlaceRepliesFailTheConnection) {
  const std::vector<std::string> bad = {
      "250 ok\r\nhello there\r\n",                     // not a reply
      "250-ok\r\n251 ok\r\n",                           // mixed codes
      "250 ok\r\n250 " + std::string(5000, 'x') + "\r\n",  // overlong line
      "250 ok\r\n334 what\r\n",                         // 3xx to RCPT
      "250 ok\r\n250 ok\r\n250 ok\r\n",                 // 250 to DATA
  };
  for (const std::string& server : bad) {
    Driver d(smtp_config());
    handshake(d, kEhloFull);
    ASSERT_TRUE(d.client().submit(job(1, {"a@x.org"}, &body_)).ok());
    d.output();
    d.feed(server);
    EXPECT_EQ(d.client().state(), ClientState::failed) << visible(server);
    EXPECT_EQ(d.counters().protocol_errors, 1u);
    EXPECT_EQ(d.client().failure().code, 451);
    EXPECT_EQ(d.client().failure().enhanced, "4.4.2");
    EXPECT_TRUE(d.client().failure().text.starts_with("upstream protocol error: ")) << d.client().failure().text;
    const std::vector<JobResult> r = d.results();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_TRUE(r[0].connection_failed);
    EXPECT_EQ(r[0].recipients[0].code, 451);
    EXPECT_EQ(d.output(), "");
  }
}

TEST_F(Client, ReplyWhenIdleIsAProtocolError) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  d.feed("250 surprise\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
  EXPECT_EQ(d.client().failure().text, "upstream protocol error: reply when none was expected");
  // An extra reply right after a job's last one, in the same read.
  Driver e(smtp_config());
  handshake(e, kEhloFull);
  ASSERT_TRUE(e.client().submit(job(1, {"a@x.org"}, &body_)).ok());
  e.feed("250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n250 extra\r\n");
  EXPECT_EQ(e.client().state(), ClientState::failed);
  const std::vector<JobResult> r = e.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0].code, 250);  // answered before the garbage
  EXPECT_FALSE(r[0].connection_failed);
}

TEST_F(Client, BytesBeforeConnectedAreAnError) {
  Driver d(smtp_config());
  d.feed("220 hi\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
}

TEST_F(Client, MaxTransactionsThenQuit) {
  ClientConfig c = smtp_config();
  c.max_transactions = 2;
  Driver d(c);
  handshake(d, kEhloFull);
  for (uint64_t id = 1; id <= 2; ++id) {
    ASSERT_TRUE(d.client().submit(job(id, {"a@x.org"}, nullptr)).ok());
    d.output();
    d.feed("250 ok\r\n250 ok\r\n354 go\r\n");
    EXPECT_EQ(d.output(), ".\r\n");
    d.feed("250 queued\r\n");
    ASSERT_EQ(d.results().size(), 1u);
  }
  EXPECT_EQ(d.client().transactions(), 2u);
  EXPECT_EQ(d.client().state(), ClientState::closing);
  EXPECT_TRUE(d.client().wants_close());
  EXPECT_FALSE(d.client().can_submit());
  EXPECT_EQ(d.output(), "QUIT\r\n");
  d.feed("221 2.0.0 Bye\r\n");
  EXPECT_EQ(d.client().state(), ClientState::closed);
  d.feed("garbage after close\r\n");
  EXPECT_EQ(d.client().state(), ClientState::closed);
}

TEST_F(Client, QuitWhenIdleAndAfterTheJobInProgress) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  d.client().quit();
  EXPECT_EQ(d.output(), "QUIT\r\n");
  EXPECT_EQ(d.client().state(), ClientState::closing);
  d.client().connection_lost();  // the server closed without a 221
  EXPECT_EQ(d.client().state(), ClientState::closed);

  Driver e(smtp_config());
  handshake(e, kEhloFull);
  ASSERT_TRUE(e.client().submit(job(1, {"a@x.org"}, nullptr)).ok());
  e.output();
  e.client().quit();
  EXPECT_EQ(e.client().state(), ClientState::busy);
  EXPECT_EQ(e.output(), "");
  e.feed("250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
  EXPECT_EQ(e.output(), ".\r\nQUIT\r\n");
  EXPECT_EQ(e.results().size(), 1u);
  EXPECT_EQ(e.client().state(), ClientState::closing);

  Driver f(smtp_config());
  f.client().quit();  // never connected
  EXPECT_EQ(f.client().state(), ClientState::closed);
}

TEST_F(Client, SubmitRefusedWhileBusyOrClosing) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org"}, nullptr)).ok());
  const Result<void> r = d.client().submit(job(2, {"a@x.org"}, nullptr));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "a job is in progress");
}

TEST_F(Client, JobWithoutRecipientsCompletesAtOnce) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {}, nullptr)).ok());
  EXPECT_EQ(d.output(), "");
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].recipients.empty());
  EXPECT_EQ(d.client().state(), ClientState::ready);
}

TEST_F(Client, RsetRefusedFailsTheConnection) {
  Driver d(smtp_config());
  handshake(d, kEhloFull);
  ASSERT_TRUE(d.client().submit(job(1, {"a@x.org"}, nullptr)).ok());
  d.feed("250 ok\r\n550 no\r\n503 no\r\n");
  d.results();
  ASSERT_TRUE(d.client().submit(job(2, {"b@x.org"}, nullptr)).ok());
  d.output();
  d.feed("500 what\r\n");
  EXPECT_EQ(d.client().state(), ClientState::failed);
  const std::vector<JobResult> r = d.results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].recipients[0], reply(451, "4.4.2", "upstream refused RSET: 500 what"));
}

TEST_F(Client, BareNewlinesRepairedOnTheWayOutAndCounted) {
  Driver d(smtp_config());
  const std::string long_line(kMinReferencedRun + 10, 'x');
  // Slice 1 is clean; slice 2 has a bare LF followed by a dot line.
  io::SliceChain body = chain_of(pool_, "Subject: s\r\n\r\n" + long_line + "\n.hidden\r\n",
                                 {14});
  d.track(body);
  handshake(d, kEhloFull);
  Job j = job(1, {"a@x.org"}, &body);
  j.bare_newlines = true;
  ASSERT_TRUE(d.client().submit(j).ok());
  d.output();
  d.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(d.output(), "Subject: s\r\n\r\n" + long_line + "\r\n..hidden\r\n.\r\n");
  EXPECT_TRUE(d.references_ok());
  EXPECT_EQ(d.slice_segments(), 2u);  // the clean slice and the long run
  EXPECT_EQ(d.counters().body_bytes_copied, 10u);  // "\n.hidden\r\n" copied
  EXPECT_EQ(d.counters().body_bytes_inserted, 2u);  // CR and the stuffing dot
}

// One conversation with everything in it; the results must not depend on
// how the server's bytes are cut.
struct Conversation {
  std::string output;
  std::vector<JobResult> results;
  ClientState state;
  bool refs = true;
};

Conversation converse(const Splitter& split, io::BufferPool& pool) {
  const io::SliceChain body = chain_of(pool, "From: a\r\nSubject: b\r\n\r\nline one\r\nline two\r\n", {3, 11});
  ClientConfig c;
  c.helo_name = "gw";
  c.max_transactions = 3;
  Driver d(c);
  d.track(body);
  d.client().connected();
  d.feed("220-mx.example.org ESMTP\r\n220 second greeting line\r\n", split);
  d.output();
  d.feed(std::string(kEhloFull), split);
  EXPECT_TRUE(d.client().submit(job(1, {"a@x.org", "b@x.org", "c@x.org"}, &body)).ok());
  d.output();
  d.feed("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n450-4.7.1 greylisted\r\n450 4.7.1 later\r\n250 2.1.5 Ok\r\n354 go\r\n", split);
  d.output();
  d.feed("250 2.0.0 Ok: queued as ABC\r\n", split);
  d.results();
  EXPECT_TRUE(d.client().submit(job(2, {"d@x.org"}, &body)).ok());
  d.output();
  d.feed("250 ok\r\n550 5.1.1 unknown\r\n503 5.5.1 no recipients\r\n", split);
  d.results();
  EXPECT_TRUE(d.client().submit(job(3, {"e@x.org", "f@x.org"}, &body)).ok());
  d.output();
  d.feed("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n554 5.7.1 rejected by content filter\r\n221 bye\r\n",
         split);
  d.output();
  d.results();
  return {d.all_output(), d.all_results(), d.client().state(), d.references_ok()};
}

TEST_F(Client, SameBytesAndResultsInEverySplit) {
  const Conversation ref = converse(whole(), pool_);
  EXPECT_EQ(ref.state, ClientState::closed);
  ASSERT_EQ(ref.results.size(), 3u);
  EXPECT_EQ(ref.results[0].recipients[1], reply(450, "4.7.1", "greylisted later"));
  EXPECT_EQ(ref.results[2].recipients[1].code, 554);
  EXPECT_TRUE(ref.output.find("RSET\r\nMAIL") != std::string::npos);
  EXPECT_TRUE(ref.output.ends_with("QUIT\r\n"));
  const auto same = [&](const Conversation& c, const std::string& how) {
    EXPECT_EQ(visible(c.output), visible(ref.output)) << how;
    ASSERT_EQ(c.results.size(), ref.results.size()) << how;
    for (size_t i = 0; i < c.results.size(); ++i) {
      EXPECT_EQ(c.results[i].id, ref.results[i].id) << how;
      EXPECT_EQ(c.results[i].recipients, ref.results[i].recipients) << how;
    }
    EXPECT_EQ(c.state, ref.state) << how;
    EXPECT_TRUE(c.refs) << how;
  };
  same(converse(bytewise(), pool_), "bytewise");
  for (uint32_t seed = 1; seed <= 50; ++seed) same(converse(random_splits(seed, 1 + seed % 23), pool_), "seed " + std::to_string(seed));
}

}  // namespace
}  // namespace listgate::delivery

// session_test.cc - the LMTP session against DESIGN.md section 4: every
// reply, every command, sequences, pipelining, splitting, zero copy, limits,
// shutdown and idle behaviour.
#include "listgate/lmtp/session.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "harness.h"
#include "listgate/lmtp/replies.h"

namespace listgate::lmtp {
namespace {

using lmtp_test::Harness;
using lmtp_test::SessionRun;
using lmtp_test::Step;

const std::string kGreeting = "220 mx.example.org LMTP listgate ready\r\n";
const std::string kLhloReply =
    "250-mx.example.org\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
    "250-SIZE 10000\r\n250 SMTPUTF8\r\n";
const std::string kMailOk = "250 2.1.0 Ok\r\n";
const std::string kRcptOk = "250 2.1.5 Ok\r\n";
const std::string k354 = "354 Start mail input; end with <CRLF>.<CRLF>\r\n";
const std::string kOk = "250 2.0.0 Ok\r\n";
const std::string kBye = "221 2.0.0 mx.example.org closing connection\r\n";
const std::string kShutdown = "421 4.3.2 mx.example.org Service shutting down\r\n";
const std::string kIdle = "421 4.4.2 mx.example.org Idle timeout, closing connection\r\n";
const std::string k503Lhlo = "503 5.5.1 Error: send LHLO first\r\n";
const std::string k503Nested = "503 5.5.1 Error: nested MAIL command\r\n";
const std::string k503Mail = "503 5.5.1 Error: need MAIL command\r\n";
const std::string k503Rcpt = "503 5.5.1 Error: need RCPT command\r\n";
const std::string k552 = "552 5.3.4 Message size exceeds fixed maximum message size\r\n";
const std::string k452 = "452 4.5.3 Too many recipients\r\n";
const std::string k555 = "555 5.5.4 Unsupported parameter\r\n";
const std::string k500 = "500 5.5.1 Error: command not recognized\r\n";
const std::string kTooLong = "500 5.5.2 Line too long\r\n";

std::string rejected(const std::string& a) { return "550 5.1.1 <" + a + ">: Recipient address rejected\r\n"; }
std::string delivered(const std::string& a) { return lmtp_test::delivered(a) + "\r\n"; }

const std::string kLhlo = "LHLO client.example\r\n";
const std::string kAnnounce = "announce@lists.example.org";
const std::string kDev = "dev@lists.example.org";

// Runs the input whole, byte by byte and in random splits; all must agree.
SessionRun run_all_ways(const std::string& input, SessionConfig config = lmtp_test::test_config()) {
  const SessionRun ref = lmtp_test::run_bytes(input, lmtp_test::whole(), config);
  EXPECT_TRUE(ref.chain_ok);
  const SessionRun bytes = lmtp_test::run_bytes(input, lmtp_test::bytewise(), config);
  EXPECT_EQ(bytes.output, ref.output) << "byte by byte";
  EXPECT_EQ(bytes.transactions, ref.transactions) << "byte by byte";
  EXPECT_TRUE(bytes.chain_ok);
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    const SessionRun r = lmtp_test::run_bytes(input, lmtp_test::random_splits(seed, 1 + seed * 7), config);
    EXPECT_EQ(r.output, ref.output) << "seed " << seed;
    EXPECT_EQ(r.transactions, ref.transactions) << "seed " << seed;
    EXPECT_EQ(r.closed, ref.closed) << "seed " << seed;
    EXPECT_TRUE(r.chain_ok);
  }
  return ref;
}

std::string expect_output(const std::string& input, const std::string& expected_after_greeting) {
  const SessionRun r = run_all_ways(input);
  EXPECT_EQ(r.output, kGreeting + expected_after_greeting);
  return r.output;
}

// --- greeting and LHLO --------------------------------------------------

TEST(Session, GreetingAndLhlo) {
  expect_output(kLhlo, kLhloReply);
}

TEST(Session, LhloAdvertisesTheConfiguredSize) {
  auto c = lmtp_test::test_config();
  c.limits.max_message_size = 52428800;
  const SessionRun r = lmtp_test::run_bytes(kLhlo, lmtp_test::whole(), c);
  EXPECT_NE(r.output.find("250-SIZE 52428800\r\n"), std::string::npos);
  EXPECT_EQ(r.output.find("CHUNKING"), std::string::npos);
}

TEST(Session, LhloWithoutArgument) {
  expect_output("LHLO\r\nLHLO   \r\n", "501 5.5.4 Syntax: LHLO hostname\r\n501 5.5.4 Syntax: LHLO hostname\r\n");
}

TEST(Session, HeloAndEhloAreRefused) {
  const std::string r = "500 5.5.1 Error: this is LMTP, use LHLO\r\n";
  expect_output("HELO client\r\nEHLO client\r\nMAIL FROM:<>\r\n", r + r + k503Lhlo);
}

TEST(Session, SecondLhloResetsTheTransaction) {
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<a@b.example>\r\nRCPT TO:<" + kDev + ">\r\n" + kLhlo +
                             "RCPT TO:<" + kDev + ">\r\nDATA\r\nMAIL FROM:<c@d.example>\r\n");
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + kLhloReply + k503Mail + k503Mail + kMailOk);
}

// --- MAIL ----------------------------------------------------------------

TEST(Session, MailBeforeLhlo) {
  expect_output("MAIL FROM:<a@b>\r\n", k503Lhlo);
}

TEST(Session, MailAcceptedAndNested) {
  expect_output(kLhlo + "MAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\n", kLhloReply + kMailOk + k503Nested);
}

TEST(Session, MailNullSenderAndParameters) {
  Harness h;
  h.feed(kLhlo + "MAIL FROM:<> SIZE=100 BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\nhi\r\n.\r\n");
  const SessionRun r = h.finish();
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].sender, "");
  EXPECT_TRUE(r.transactions[0].body_8bitmime);
  EXPECT_TRUE(r.transactions[0].smtputf8);
  EXPECT_TRUE(r.transactions[0].directory);
}

TEST(Session, MailSizeAndParameterErrors) {
  expect_output(kLhlo +
                    "MAIL FROM:<a@b> SIZE=10001\r\n"
                    "MAIL FROM:<a@b> SIZE=ten\r\n"
                    "MAIL FROM:<a@b> BODY=BINARYMIME\r\n"
                    "MAIL FROM:<a@b> RET=HDRS\r\n"
                    "MAIL FROM:a@b\r\n"
                    "MAIL\r\n"
                    "MAIL FROM:<a@b> SIZE=10000\r\n",
                kLhloReply + k552 + "501 5.5.4 Bad parameter value\r\n" + "501 5.5.4 Bad parameter value\r\n" +
                    k555 + "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n" +
                    "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n" + kMailOk);
}

TEST(Session, DirectorySnapshotIsTakenAtMail) {
  Harness h;
  h.set_auto_complete(false);
  auto first = std::make_shared<lmtp_test::FakeDirectory>();
  h.set_directory(first);
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\n");
  h.set_directory(nullptr);  // a reload after MAIL does not affect this transaction
  EXPECT_EQ(h.feed("RCPT TO:<" + kDev + ">\r\nDATA\r\nx\r\n.\r\n"), Session::Status::transaction_ready);
  EXPECT_EQ(h.session().transaction().directory.get(), first.get());
  std::vector<std::string> replies = {"250 2.0.0 ok"};
  h.session().complete(replies);
  // The next MAIL asks again and finds no table.
  EXPECT_EQ(h.session().resume(), Session::Status::need_input);
  h.feed("MAIL FROM:<a@b>\r\n");
  EXPECT_TRUE(h.finish().output.ends_with(std::string(reply::kNoDirectory)));
  EXPECT_FALSE(h.session().in_transaction());
}

// --- RCPT ----------------------------------------------------------------

TEST(Session, RcptBeforeMail) {
  expect_output("RCPT TO:<" + kDev + ">\r\n" + kLhlo + "RCPT TO:<" + kDev + ">\r\n", k503Mail + kLhloReply + k503Mail);
}

TEST(Session, RcptForms) {
  expect_output(kLhlo + "MAIL FROM:<a@b>\r\n"
                        "RCPT TO:<dev@lists.example.org>\r\n"
                        "rcpt to: <announce@lists.example.org>\r\n"
                        "RCPT TO:<@hop1.example,@hop2.example:DEV-request@Lists.Example.org>\r\n",
                kLhloReply + kMailOk + kRcptOk + kRcptOk + kRcptOk);
  Harness h;
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<@hop.example:dev-owner@lists.example.org>\r\nDATA\r\n.\r\n");
  const SessionRun r = h.finish();
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].recipients, std::vector<std::string>{"dev-owner@lists.example.org"});
  EXPECT_TRUE(r.output.ends_with(delivered("dev-owner@lists.example.org")));
}

TEST(Session, RcptSyntaxAndParameters) {
  const std::string syntax = "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
  expect_output(kLhlo + "MAIL FROM:<a@b>\r\n"
                        "RCPT TO:dev@lists.example.org\r\n"
                        "RCPT TO:<>\r\n"
                        "RCPT\r\n"
                        "RCPT TO:<dev@lists.example.org> NOTIFY=NEVER\r\n"
                        "RCPT TO:<a\x01@lists.example.org>\r\n",
                kLhloReply + kMailOk + syntax + syntax + syntax + k555 + syntax);
}

TEST(Session, RcptRejectionsAreCountedByReason) {
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<a@b>\r\n"
                                     "RCPT TO:<nobody@elsewhere.example>\r\n"
                                     "RCPT TO:<nolist@lists.example.org>\r\n"
                                     "RCPT TO:<announce-request@lists.example.org>\r\n"
                                     "RCPT TO:<postmaster>\r\n"
                                     "RCPT TO:<announce-bounces+alice=example.com@lists.example.org>\r\n");
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + rejected("nobody@elsewhere.example") +
                          rejected("nolist@lists.example.org") +
                          rejected("announce-request@lists.example.org") + rejected("postmaster") + kRcptOk);
  EXPECT_EQ(r.counters.rejected_unknown_domain, 1u);
  EXPECT_EQ(r.counters.rejected_unknown_list, 1u);
  EXPECT_EQ(r.counters.rejected_needs_backend, 1u);
  EXPECT_EQ(r.counters.rejected_bad_address, 1u);
  EXPECT_EQ(r.counters.recipients_accepted, 1u);
}

TEST(Session, TooManyRecipients) {
  std::string in = kLhlo + "MAIL FROM:<a@b>\r\n";
  for (int i = 0; i < 5; ++i) in += "RCPT TO:<" + kDev + ">\r\n";
  in += "DATA\r\nbody\r\n.\r\n";
  const SessionRun r = run_all_ways(in);
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + kRcptOk + kRcptOk + k452 + k452 + k354 +
                          delivered(kDev) + delivered(kDev) + delivered(kDev));
  EXPECT_EQ(r.counters.rejected_too_many, 2u);
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].recipients.size(), 3u);
}

// --- DATA ----------------------------------------------------------------

TEST(Session, DataSequenceErrors) {
  expect_output("DATA\r\n" + kLhlo + "DATA\r\nMAIL FROM:<a@b>\r\nDATA\r\nRCPT TO:<x@y.example>\r\nDATA\r\n"
                "RCPT TO:<" + kDev + ">\r\nDATA now\r\n",
                k503Mail + kLhloReply + k503Mail + kMailOk + k503Rcpt + rejected("x@y.example") + k503Rcpt +
                    kRcptOk + "501 5.5.4 Syntax: DATA\r\n");
}

TEST(Session, FullTransactionRepliesPerRecipientInOrder) {
  const std::string body = "Subject: hi\r\n\r\nHello.\r\n..dot-stuffed\r\n";
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<alice@example.com>\r\nRCPT TO:<" + kAnnounce + ">\r\nRCPT TO:<" +
                             kDev + ">\r\nDATA\r\n" + body + ".\r\nQUIT\r\n");
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + kRcptOk + k354 + delivered(kAnnounce) +
                          delivered(kDev) + kBye);
  ASSERT_EQ(r.transactions.size(), 1u);
  const auto& t = r.transactions[0];
  EXPECT_EQ(t.sender, "alice@example.com");
  EXPECT_EQ(t.recipients, (std::vector<std::string>{kAnnounce, kDev}));
  EXPECT_EQ(t.body, body);  // wire form: dot-stuffing kept, final ".\r\n" not included
  EXPECT_EQ(t.body_length, body.size());
  EXPECT_FALSE(t.bare_newlines);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.counters.transactions, 1u);
  EXPECT_EQ(r.counters.body_bytes, body.size());
  EXPECT_EQ(r.counters.body_bytes_copied, 0u);
}

TEST(Session, EmptyBody) {
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\n.\r\n");
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].body, "");
  EXPECT_EQ(r.transactions[0].body_length, 0u);
}

TEST(Session, OnlyCrLfDotCrLfEndsTheBody) {
  const std::string body = "a\n.\nb\r.\rc\r\n.x\r\n";
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\n" + body + ".\r\n");
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].body, body);
  EXPECT_TRUE(r.transactions[0].bare_newlines);
}

TEST(Session, BareNewlineFlag) {
  for (const std::string body : {"one\rtwo\r\n", "one\ntwo\r\n", "end with CR\r", "x\r\r\n"}) {
    const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\n" + body + "\r\n.\r\n");
    ASSERT_EQ(r.transactions.size(), 1u);
    EXPECT_TRUE(r.transactions[0].bare_newlines) << body;
  }
  const SessionRun clean = run_all_ways(kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\nclean\r\n.\r\n");
  ASSERT_EQ(clean.transactions.size(), 1u);
  EXPECT_FALSE(clean.transactions[0].bare_newlines);
}

TEST(Session, BareNewlinesInCommandsAfterTheBodyDoNotFlagIt) {
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\nclean\r\n.\r\nNOOP\n");
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_FALSE(r.transactions[0].bare_newlines);
  EXPECT_TRUE(r.output.ends_with(kOk));
}

TEST(Session, BodySlicesReferenceTheReceiveBuffers) {
  io::BufferPool pool(1024, 4);
  Counters counters;
  auto dir = std::make_shared<lmtp_test::FakeDirectory>();
  Session s(lmtp_test::test_config(), [&] { return dir; }, counters);
  s.start();
  std::string body;
  for (int i = 0; i < 100; ++i) body += "line " + std::to_string(i) + " of a body that spans buffers\r\n";
  const std::string in = kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\n" + body + ".\r\nNOOP\r\n";
  io::SliceChain chain = io::copy_into_pool(pool, in);
  ASSERT_GT(chain.size(), 1u);
  Session::Status st = Session::Status::need_input;
  for (io::Slice& sl : chain) st = s.feed(sl);
  ASSERT_EQ(st, Session::Status::transaction_ready);
  const Transaction& t = s.transaction();
  std::string joined;
  for (const io::Slice& sl : t.body) {
    bool found = false;
    for (const io::Slice& in_slice : chain) {
      if (in_slice.buffer.get() == sl.buffer.get() && sl.offset >= in_slice.offset &&
          sl.offset + sl.length <= in_slice.offset + in_slice.length) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << "body slice outside the received buffers";
    joined.append(sl.view());
  }
  EXPECT_EQ(joined, body);
  EXPECT_EQ(t.body.size(), chain.size());  // one slice per buffer: nothing merged wrongly or split
  EXPECT_EQ(counters.body_bytes_copied, 0u);
  EXPECT_EQ(counters.body_bytes, body.size());
  // The remaining "NOOP" is kept by reference until resume().
  EXPECT_EQ(s.pending_input(), 6u);
  // Releasing the transaction releases the buffers it held.
  chain.clear();
  const size_t in_use = pool.in_use();
  EXPECT_GT(in_use, 0u);
  std::vector<std::string> replies = {"250 2.0.0 ok"};
  s.complete(replies);
  EXPECT_EQ(s.resume(), Session::Status::need_input);
  EXPECT_EQ(s.pending_input(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_TRUE(s.output().ends_with("250 2.0.0 ok\r\n" + kOk));
}

TEST(Session, ContiguousPiecesOfOneBufferBecomeOneSlice) {
  // The harness appends chunks in a buffer's free tail, as a server does.
  Harness h(lmtp_test::test_config(), 4096);
  h.set_auto_complete(false);
  const std::string in = kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\n" + std::string(1000, 'b') + "\r\n.\r\n";
  EXPECT_EQ(h.feed(in, lmtp_test::bytewise()), Session::Status::transaction_ready);
  EXPECT_EQ(h.session().transaction().body.size(), 1u);
  EXPECT_EQ(h.session().transaction().body_length, 1002u);
}

TEST(Session, OversizeMessageIsRejectedPerRecipientAndDropped) {
  std::string big;
  while (big.size() < 12000) big += "0123456789012345678901234567890123456789\r\n";
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nRCPT TO:<" + kAnnounce +
                             ">\r\nDATA\r\n" + big + ".\r\nMAIL FROM:<>\r\n");
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + kRcptOk + k354 + k552 + k552 + kMailOk);
  EXPECT_TRUE(r.transactions.empty());
  EXPECT_EQ(r.counters.messages_too_big, 1u);
}

TEST(Session, OversizeReleasesBuffersBeforeTheEnd) {
  io::BufferPool pool(1024, 4);
  Counters counters;
  auto dir = std::make_shared<lmtp_test::FakeDirectory>();
  Session s(lmtp_test::test_config(), [&] { return dir; }, counters);
  {
    io::SliceChain head = io::copy_into_pool(pool, kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\n");
    for (io::Slice& sl : head) s.feed(sl);
  }
  for (int i = 0; i < 40; ++i) {
    io::SliceChain part = io::copy_into_pool(pool, std::string(1022, 'x') + "\r\n");
    EXPECT_EQ(s.feed(part[0]), Session::Status::need_input);
  }
  EXPECT_LE(pool.in_use(), 12u);  // about max_message_size worth, not 40 KiB
  EXPECT_TRUE(s.in_transaction());
  io::SliceChain end = io::copy_into_pool(pool, ".\r\n");
  EXPECT_EQ(s.feed(end[0]), Session::Status::need_input);
  EXPECT_FALSE(s.in_transaction());
  EXPECT_TRUE(s.output().ends_with(k552));
}

TEST(Session, ExactlyMaxSizeIsAccepted) {
  auto c = lmtp_test::test_config();
  const std::string body = std::string(c.limits.max_message_size - 2, 'z') + "\r\n";
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\n" + body + ".\r\n");
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].body_length, c.limits.max_message_size);
  const SessionRun over = run_all_ways(kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\nz" + body + ".\r\n");
  EXPECT_TRUE(over.transactions.empty());
  EXPECT_TRUE(over.output.ends_with(k552));
}

TEST(Session, LongBodyLinesAreFine) {
  const std::string body = std::string(5000, 'L') + "\r\n";
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\n" + body + ".\r\n");
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].body, body);
  EXPECT_EQ(r.counters.lines_too_long, 0u);
}

// --- other commands --------------------------------------------------------

TEST(Session, RsetNoopVrfyHelpQuit) {
  expect_output("NOOP\r\nRSET\r\nVRFY bob\r\nVRFY\r\nHELP\r\nHELP MAIL\r\nNOOP whatever\r\nRSET x\r\nQUIT x\r\nQUIT\r\nNOOP\r\n",
                kOk + kOk + std::string(reply::kVrfy) + "501 5.5.4 Syntax: VRFY address\r\n" +
                    std::string(reply::kHelp) + std::string(reply::kHelp) + kOk + "501 5.5.4 Syntax: RSET\r\n" +
                    "501 5.5.4 Syntax: QUIT\r\n" + kBye);
}

TEST(Session, RsetEndsTheTransaction) {
  Harness h;
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\n");
  EXPECT_TRUE(h.session().in_transaction());
  h.feed("RSET\r\n");
  EXPECT_FALSE(h.session().in_transaction());
  h.feed("DATA\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_EQ(h.finish().output, kGreeting + kLhloReply + kMailOk + kRcptOk + kOk + k503Mail + kMailOk);
}

TEST(Session, UnknownAndEmptyCommands) {
  expect_output("FOO\r\n\r\nBDAT 10 LAST\r\nSTARTTLS\r\nNOOP\r\n",
                k500 + "500 5.5.1 Error: empty command line\r\n" + k500 + k500 + kOk);
}

TEST(Session, CommandsAreCaseInsensitive) {
  const SessionRun r = run_all_ways("lhlo c\r\nmail from:<a@b>\r\nrcpt to:<DEV@LISTS.EXAMPLE.ORG>\r\ndata\r\nx\r\n.\r\nquit\r\n");
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + k354 + delivered("DEV@LISTS.EXAMPLE.ORG") + kBye);
}

TEST(Session, BareLfEndsCommandLines) {
  const SessionRun r = run_all_ways("LHLO c\nMAIL FROM:<a@b>\nRCPT TO:<" + kDev + ">\nDATA\nbody\r\n.\r\nQUIT\n");
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + k354 + delivered(kDev) + kBye);
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].body, "body\r\n");
}

TEST(Session, CommandLineOf1000OctetsIsAcceptedAnd1001IsTooLong) {
  const std::string ok_line = "NOOP " + std::string(1000 - 7, 'a') + "\r\n";   // 1000 octets
  const std::string long_line = "NOOP " + std::string(1000 - 6, 'a') + "\r\n"; // 1001 octets
  ASSERT_EQ(ok_line.size(), 1000u);
  ASSERT_EQ(long_line.size(), 1001u);
  const SessionRun r = run_all_ways(ok_line + long_line + "NOOP\r\n");
  EXPECT_EQ(r.output, kGreeting + kOk + kTooLong + kOk);
  EXPECT_EQ(r.counters.lines_too_long, 1u);
}

TEST(Session, OversizeLineIsSkippedAndTheSessionGoesOn) {
  const std::string huge = "MAIL FROM:<" + std::string(50000, 'x') + "@b>\r\n";
  const SessionRun r = run_all_ways(kLhlo + huge + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\n" + huge +
                             "DATA\r\nok\r\n.\r\n");
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kTooLong + kMailOk + kRcptOk + kTooLong + k354 + delivered(kDev));
  EXPECT_EQ(r.counters.lines_too_long, 2u);
  ASSERT_EQ(r.transactions.size(), 1u);
}

// --- pipelining --------------------------------------------------------------

TEST(Session, PipelinedGroupIsAnsweredInOneFeed) {
  Harness h;
  h.set_auto_complete(false);
  h.take_output();
  const auto st = h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nRCPT TO:<no@where.example>\r\nRCPT TO:<" +
                         kAnnounce + ">\r\nDATA\r\n");
  EXPECT_EQ(st, Session::Status::need_input);
  EXPECT_EQ(h.take_output(), kLhloReply + kMailOk + kRcptOk + rejected("no@where.example") + kRcptOk + k354);
}

TEST(Session, ResumeAfterTransactionWithPipelinedMailAfterTheDot) {
  Harness h;
  h.set_auto_complete(false);
  h.take_output();
  Session& s = h.session();
  const std::string first = kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\none\r\n.\r\n";
  const std::string second = "MAIL FROM:<c@d>\r\nRCPT TO:<" + kAnnounce + ">\r\nDATA\r\ntwo\r\n.\r\nQUIT\r\n";
  EXPECT_EQ(h.feed(first + second), Session::Status::transaction_ready);
  EXPECT_EQ(h.take_output(), kLhloReply + kMailOk + kRcptOk + k354);
  EXPECT_EQ(s.pending_input(), second.size());
  EXPECT_TRUE(s.in_transaction());
  // Input fed while pending is only queued.
  EXPECT_EQ(h.feed("NOOP\r\n"), Session::Status::transaction_ready);
  EXPECT_EQ(h.take_output(), "");
  EXPECT_EQ(s.transaction().sender, "a@b");
  std::vector<std::string> r1 = {"250 2.0.0 first"};
  s.complete(r1);
  EXPECT_FALSE(s.in_transaction());
  EXPECT_EQ(h.take_output(), "250 2.0.0 first\r\n");
  EXPECT_EQ(s.resume(), Session::Status::transaction_ready);
  EXPECT_EQ(h.take_output(), kMailOk + kRcptOk + k354);
  EXPECT_EQ(s.transaction().sender, "c@d");
  std::string body;
  for (const auto& sl : s.transaction().body) body.append(sl.view());
  EXPECT_EQ(body, "two\r\n");
  std::vector<std::string> r2 = {"451 4.3.0 later"};
  s.complete(r2);
  EXPECT_EQ(s.resume(), Session::Status::closing);
  EXPECT_EQ(h.take_output(), "451 4.3.0 later\r\n" + kBye);
  EXPECT_EQ(s.pending_input(), 0u);  // the NOOP after QUIT is ignored
}

TEST(Session, FeedAfterCompleteWithoutResumeKeepsOrder) {
  Harness h;
  h.set_auto_complete(false);
  Session& s = h.session();
  EXPECT_EQ(h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\nx\r\n.\r\nNOOP\r\n"),
            Session::Status::transaction_ready);
  std::vector<std::string> r = {"250 2.0.0 done"};
  s.complete(r);
  // feed() without resume() first processes what was kept, then the new bytes.
  EXPECT_EQ(h.feed("RSET\r\n"), Session::Status::need_input);
  EXPECT_TRUE(h.finish().output.ends_with("250 2.0.0 done\r\n" + kOk + kOk));
}

TEST(Session, CompleteWithTooFewReplies) {
  Harness h;
  h.set_auto_complete(false);
  Session& s = h.session();
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nRCPT TO:<" + kAnnounce + ">\r\nDATA\r\nx\r\n.\r\n");
  std::vector<std::string> r = {"250 2.0.0 one"};
  s.complete(r);
  EXPECT_TRUE(h.finish().output.ends_with("250 2.0.0 one\r\n451 4.3.0 Local error in processing\r\n"));
}

// --- shutdown and idle -------------------------------------------------------

TEST(Session, ShutdownIdleSessionClosesAt421) {
  Harness h;
  h.feed(kLhlo);
  h.session().shutdown();
  EXPECT_TRUE(h.session().closing());
  EXPECT_EQ(h.feed("NOOP\r\n"), Session::Status::closing);
  EXPECT_EQ(h.finish().output, kGreeting + kLhloReply + kShutdown);
}

TEST(Session, ShutdownDuringRcptsLetsTheTransactionFinish) {
  Harness h;
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\n");
  h.session().shutdown();
  EXPECT_FALSE(h.session().closing());
  EXPECT_TRUE(h.session().in_transaction());
  h.feed("DATA\r\nbody\r\n.\r\nNOOP\r\n");
  const SessionRun r = h.finish();
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + k354 + delivered(kDev) + kShutdown);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.transactions.size(), 1u);
}

TEST(Session, ShutdownDuringBodyFinishesIt) {
  Harness h;
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\npart one\r\n");
  h.session().shutdown();
  EXPECT_FALSE(h.session().closing());
  h.feed("part two\r\n.\r\n");
  const SessionRun r = h.finish();
  EXPECT_TRUE(r.output.ends_with(k354 + delivered(kDev) + kShutdown));
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].body, "part one\r\npart two\r\n");
}

TEST(Session, ShutdownWhilePendingQueuesRepliesThen421) {
  Harness h;
  h.set_auto_complete(false);
  Session& s = h.session();
  EXPECT_EQ(h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\nx\r\n.\r\nMAIL FROM:<c@d>\r\n"),
            Session::Status::transaction_ready);
  s.shutdown();
  EXPECT_TRUE(s.in_transaction());
  EXPECT_FALSE(s.closing());
  std::vector<std::string> r = {"250 2.0.0 done"};
  s.complete(r);
  EXPECT_TRUE(s.closing());
  EXPECT_EQ(s.resume(), Session::Status::closing);
  EXPECT_TRUE(h.finish().output.ends_with(k354 + "250 2.0.0 done\r\n" + kShutdown));
}

TEST(Session, ShutdownThenRsetCloses) {
  Harness h;
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\n");
  h.session().shutdown();
  h.feed("RSET\r\nNOOP\r\n");
  EXPECT_EQ(h.finish().output, kGreeting + kLhloReply + kMailOk + kOk + kShutdown);
}

TEST(Session, ShutdownThenOversizeCloses) {
  Harness h;
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\n");
  h.session().shutdown();
  h.feed(std::string(20000, 'x') + "\r\n.\r\n");
  EXPECT_TRUE(h.finish().output.ends_with(k354 + k552 + kShutdown));
}

TEST(Session, IdleTimeout) {
  Harness h;
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\npartial");
  h.session().idle_timeout();
  EXPECT_TRUE(h.session().closing());
  EXPECT_FALSE(h.session().in_transaction());
  EXPECT_EQ(h.feed("\r\n.\r\n"), Session::Status::closing);
  h.session().idle_timeout();  // once only
  const SessionRun r = h.finish();
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + k354 + kIdle);
  EXPECT_TRUE(r.transactions.empty());
  EXPECT_EQ(h.pool().in_use(), 1u);  // only the harness's own current buffer
}

TEST(Session, IdleTimeoutWhilePendingKeepsTheTransactionUntilComplete) {
  Harness h;
  h.set_auto_complete(false);
  Session& s = h.session();
  h.feed(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\nx\r\n.\r\n");
  s.idle_timeout();
  EXPECT_TRUE(s.closing());
  EXPECT_EQ(s.transaction().recipients.size(), 1u);
  std::vector<std::string> r = {"250 2.0.0 late"};
  s.complete(r);
  EXPECT_TRUE(h.finish().output.ends_with(kIdle));
}

TEST(Session, QuitInsideTransaction) {
  const SessionRun r = run_all_ways(kLhlo + "MAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + kBye);
  EXPECT_TRUE(r.closed);
}

// --- counters ----------------------------------------------------------------

TEST(Session, Counters) {
  const SessionRun r = run_all_ways(kLhlo + "FOO\r\nMAIL FROM:<a@b>\r\nRCPT TO:<" + kDev + ">\r\nDATA\r\nabc\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(r.counters.commands, 6u);
  EXPECT_EQ(r.counters.command_errors, 1u);
  EXPECT_EQ(r.counters.transactions, 1u);
  EXPECT_EQ(r.counters.recipients_accepted, 1u);
  EXPECT_EQ(r.counters.body_bytes, 5u);
  EXPECT_EQ(r.counters.body_bytes_copied, 0u);
}

// --- robustness ----------------------------------------------------------------

// Random garbage mixed with valid commands: every output line is a reply.
TEST(Session, RandomInputAlwaysGetsWellFormedReplies) {
  std::mt19937 rng(5321);
  const std::vector<std::string> pieces = {
      kLhlo, "MAIL FROM:<a@b>\r\n", "RCPT TO:<" + kDev + ">\r\n", "DATA\r\n", ".\r\n", "\r\n", "\n", "\r",
      "x", ".", "RSET\r\n", "NOOP\r\n", std::string(600, 'q'), "RCPT TO:<bad@x>\r\n", "MAIL FROM:<> SIZE=1\r\n"};
  for (int round = 0; round < 200; ++round) {
    std::string in;
    for (int i = 0; i < 60; ++i) in += pieces[rng() % pieces.size()];
    const SessionRun whole = lmtp_test::run_bytes(in);
    const SessionRun split = lmtp_test::run_bytes(in, lmtp_test::random_splits(round, 17));
    EXPECT_EQ(whole.output, split.output);
    EXPECT_EQ(whole.transactions, split.transactions);
    size_t pos = 0;
    while (pos < whole.output.size()) {
      const size_t eol = whole.output.find("\r\n", pos);
      ASSERT_NE(eol, std::string::npos);
      const std::string_view line(whole.output.data() + pos, eol - pos);
      ASSERT_GE(line.size(), 4u);
      EXPECT_TRUE(isdigit(line[0]) && isdigit(line[1]) && isdigit(line[2])) << line;
      EXPECT_TRUE(line[3] == ' ' || line[3] == '-') << line;
      EXPECT_EQ(line.find('\r'), std::string_view::npos);
      EXPECT_EQ(line.find('\n'), std::string_view::npos);
      pos = eol + 2;
    }
  }
}

}  // namespace
}  // namespace listgate::lmtp

// --- pipelined RCPTs are resolved in one batch ---------------------------

namespace listgate::lmtp {
namespace {

// Counts how the session asks: one by one, or in batches.
class CountingDirectory final : public table::Directory {
 public:
  table::Resolution resolve(std::string_view address) const override {
    ++singles;
    return fake.resolve(address);
  }
  void resolve_batch(std::span<const std::string_view> addresses,
                     std::span<table::Resolution> results) const override {
    batch_sizes.push_back(addresses.size());
    for (size_t i = 0; i < addresses.size(); ++i) results[i] = fake.resolve(addresses[i]);
  }
  lmtp_test::FakeDirectory fake;
  mutable int singles = 0;
  mutable std::vector<size_t> batch_sizes;
};

std::string run_with(const std::shared_ptr<CountingDirectory>& dir, const std::string& input, size_t chunk) {
  io::BufferPool pool(4096, 8);
  Counters counters;
  SessionConfig config = lmtp_test::test_config();
  config.limits.max_transaction_recipients = 100;
  Session s(config, [dir] { return dir; }, counters);
  s.start();
  for (size_t at = 0; at < input.size(); at += chunk) {
    io::SliceChain piece = io::copy_into_pool(pool, std::string_view(input).substr(at, chunk));
    for (io::Slice& sl : piece) {
      Session::Status st = s.feed(std::move(sl));
      while (st == Session::Status::transaction_ready) {
        std::vector<std::string> replies(s.transaction().recipients.size(), "250 2.0.0 Ok");
        s.complete(replies);
        st = s.resume();
      }
    }
  }
  return s.output();
}

TEST(SessionLookahead, PipelinedRcptsGoToTheTableAsOneBatch) {
  const std::string input = kLhlo + "MAIL FROM:<a@b.c>\r\n" + "RCPT TO:<announce@lists.example.org>\r\n" +
                            "RCPT TO:<nobody@lists.example.org>\r\n" + "RCPT TO:<bad address>\r\n" +
                            "RCPT TO:<announce-owner@x.example.org>\r\n" + "RCPT TO:<dev-request@lists.example.org>\r\n" +
                            "RCPT TO:<announce-request@lists.example.org>\r\n" + "DATA\r\nhi\r\n.\r\n";
  auto batched = std::make_shared<CountingDirectory>();
  const std::string whole = run_with(batched, input, input.size());
  // The run stops at the malformed RCPT: two in the first batch, then three.
  ASSERT_EQ(batched->batch_sizes, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(batched->singles, 0);

  auto single = std::make_shared<CountingDirectory>();
  const std::string bytewise = run_with(single, input, 1);
  EXPECT_TRUE(single->batch_sizes.empty());
  EXPECT_EQ(single->singles, 5);
  EXPECT_EQ(whole, bytewise) << whole;  // the same answers either way
  EXPECT_NE(whole.find(rejected("nobody@lists.example.org")), std::string::npos);
  EXPECT_NE(whole.find(rejected("announce-request@lists.example.org")), std::string::npos);
}

TEST(SessionLookahead, RcptOverTheLimitDoesNotShiftTheAnswers) {
  SessionConfig config = lmtp_test::test_config();
  config.limits.max_transaction_recipients = 2;
  std::string input = kLhlo + "MAIL FROM:<a@b.c>\r\n";
  for (const char* a : {"announce", "nobody", "dev", "announce-owner", "zzz"})
    input += std::string("RCPT TO:<") + a + "@lists.example.org>\r\n";
  const SessionRun r = run_all_ways(input, config);
  EXPECT_EQ(r.output, kGreeting + kLhloReply + kMailOk + kRcptOk + rejected("nobody@lists.example.org") + kRcptOk +
                          k452 + k452);
}

}  // namespace
}  // namespace listgate::lmtp

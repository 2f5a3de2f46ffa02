// session_test.cc - the sink's SMTP machine, fed in every way a socket could.
#include "session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "base64.h"
#include "recorder.h"

namespace listgate::sink {
namespace {

struct Seen {
  std::string mail_from;
  std::vector<std::string> recipients;
  uint64_t recipient_count = 0;
  std::string message_id;
  uint64_t body_bytes = 0;
  std::string body;
  bool operator==(const Seen&) const = default;
};

class Collector : public MessageObserver {
 public:
  void on_message(AcceptedMessage& m) override {
    Seen s;
    s.mail_from = m.mail_from;
    for (auto r : m.recipients) s.recipients.emplace_back(r);
    s.recipient_count = m.recipient_count;
    s.message_id = m.message_id;
    s.body_bytes = m.body_bytes;
    if (m.body) s.body = *m.body;
    seen.push_back(s);
  }
  std::vector<Seen> seen;
};

struct Outcome {
  std::string output;
  std::vector<Seen> messages;
  Counters counters;
  bool closing = false;
  bool dropped = false;
};

// Feeds `input` cut at `cuts` (sorted offsets) into a fresh session.
Outcome run(const std::string& input, const std::vector<size_t>& cuts, const SessionOptions& options,
        Faults faults = {}, uint64_t seed = 1) {
  FaultEngine engine(seed);
  engine.faults() = faults;
  Outcome r;
  Collector collector;
  Session s(options, engine, r.counters, &collector);
  s.start();
  size_t pos = 0;
  std::vector<size_t> all = cuts;
  all.push_back(input.size());
  for (size_t cut : all) {
    if (cut < pos) continue;
    // Each piece in its own buffer, as the reactor hands them over.
    std::string piece = input.substr(pos, cut - pos);
    s.feed(piece);
    pos = cut;
  }
  r.output = s.output();
  r.messages = collector.seen;
  r.closing = s.closing();
  r.dropped = s.dropped();
  return r;
}

Outcome run_whole(const std::string& input, const SessionOptions& options = {}, Faults faults = {}) {
  return run(input, {}, options, faults);
}

SessionOptions tracking() {
  SessionOptions o;
  o.track_envelope = true;
  o.keep_body = true;
  return o;
}

constexpr const char* kEhloPlain =
    "250-sink\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
    "250 ENHANCEDSTATUSCODES\r\n";

// A dialogue with most of what the machine knows: two transactions, dot
// stuffing, a folded Message-ID, errors, RSET, NOOP.
std::string rich_dialogue() {
  return "EHLO client.example\r\n"
         "MAIL FROM:<list-bounces+alice=example.com@lists.example.org> SIZE=100 BODY=8BITMIME\r\n"
         "RCPT TO:<alice@example.com>\r\n"
         "RCPT TO:<bob@example.net>\r\n"
         "DATA\r\n"
         "From: x@example.com\r\n"
         "Message-ID:\r\n <first@example.org>\r\n"
         "Subject: s\r\n"
         "\r\n"
         "..stuffed\r\n"
         ".\r\n"
         "NOOP\r\n"
         "BOGUS\r\n"
         "RSET\r\n"
         "MAIL FROM:<>\r\n"
         "RCPT TO:<carol@example.org>\r\n"
         "DATA\r\n"
         "message-id: <second@x>\r\n\r\nline\n.\nnot the end\r\n.\r\n"
         "QUIT\r\n";
}

TEST(SinkSession, BasicDialogueReplies) {
  Outcome r = run_whole(rich_dialogue(), tracking());
  EXPECT_EQ(r.output, std::string("220 sink ESMTP\r\n") + kEhloPlain +
                          "250 2.1.0 Ok\r\n"
                          "250 2.1.5 Ok\r\n"
                          "250 2.1.5 Ok\r\n"
                          "354 End data with <CR><LF>.<CR><LF>\r\n"
                          "250 2.0.0 Ok: queued as 1\r\n"
                          "250 2.0.0 Ok\r\n"
                          "500 5.5.1 Command unrecognized\r\n"
                          "250 2.0.0 Ok\r\n"
                          "250 2.1.0 Ok\r\n"
                          "250 2.1.5 Ok\r\n"
                          "354 End data with <CR><LF>.<CR><LF>\r\n"
                          "250 2.0.0 Ok: queued as 2\r\n"
                          "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(r.closing);
  ASSERT_EQ(r.messages.size(), 2u);
  const Seen& a = r.messages[0];
  EXPECT_EQ(a.mail_from, "list-bounces+alice=example.com@lists.example.org");
  EXPECT_EQ(a.recipients, (std::vector<std::string>{"alice@example.com", "bob@example.net"}));
  EXPECT_EQ(a.message_id, "<first@example.org>");
  const std::string body_a = "From: x@example.com\r\nMessage-ID:\r\n <first@example.org>\r\nSubject: s\r\n\r\n.stuffed\r\n";
  EXPECT_EQ(a.body, body_a);
  EXPECT_EQ(a.body_bytes, body_a.size());
  const Seen& b = r.messages[1];
  EXPECT_EQ(b.mail_from, "");
  EXPECT_EQ(b.message_id, "<second@x>");
  EXPECT_EQ(b.body, "message-id: <second@x>\r\n\r\nline\n.\nnot the end\r\n");
  EXPECT_EQ(r.counters.transactions, 2u);
  EXPECT_EQ(r.counters.rcpt_accepted, 3u);
  EXPECT_EQ(r.counters.mails, 2u);
  EXPECT_EQ(r.counters.errors, 1u);
  EXPECT_EQ(r.counters.body_bytes, a.body_bytes + b.body_bytes);
}

std::string counters_text(const Counters& c) {
  std::string out;
  append_counters(out, c);
  return out;
}

// Feeds `input` whole, byte by byte and in 300 random splits: everything the
// session reports must be the same every time. Returns the whole run.
Outcome expect_same_at_every_split(const std::string& input, const SessionOptions& options, Faults faults = {}) {
  const Outcome whole = run(input, {}, options, faults);
  std::vector<size_t> every;
  for (size_t i = 1; i < input.size(); ++i) every.push_back(i);
  const Outcome bytes = run(input, every, options, faults);
  EXPECT_EQ(bytes.output, whole.output);
  EXPECT_EQ(bytes.messages, whole.messages);
  EXPECT_EQ(counters_text(bytes.counters), counters_text(whole.counters));
  EXPECT_EQ(bytes.dropped, whole.dropped);
  std::mt19937 gen(42);
  for (int round = 0; round < 300; ++round) {
    std::vector<size_t> cuts;
    const int n = std::uniform_int_distribution<int>(1, 12)(gen);
    for (int i = 0; i < n; ++i) cuts.push_back(std::uniform_int_distribution<size_t>(1, input.size() - 1)(gen));
    std::sort(cuts.begin(), cuts.end());
    const Outcome r = run(input, cuts, options, faults);
    EXPECT_EQ(r.output, whole.output) << "round " << round;
    EXPECT_EQ(r.messages, whole.messages) << "round " << round;
    EXPECT_EQ(counters_text(r.counters), counters_text(whole.counters)) << "round " << round;
    if (r.output != whole.output || r.messages != whole.messages) break;
  }
  return whole;
}

// A session with default options whose greeting was taken.
struct QuietSession {
  FaultEngine engine;
  Counters counters;
  SessionOptions options;
  Session session{options, engine, counters, nullptr};
  QuietSession() {
    session.start();
    session.output().clear();
  }
};

TEST(SinkSession, ByteByByteAndRandomSplitsGiveTheSameResult) {
  expect_same_at_every_split(rich_dialogue(), tracking());
}

TEST(SinkSession, PipelinedGroupIsAnsweredInOneFeed) {
  QuietSession q;
  Session& s = q.session;
  s.feed("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nRCPT TO:<z@y>\r\nDATA\r\n");
  EXPECT_EQ(s.output(), std::string(kEhloPlain) +
                            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  s.output().clear();
  // The body, the final dot and the next transaction's group in one read.
  s.feed("hello\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
  EXPECT_EQ(s.output(),
            "250 2.0.0 Ok: queued as 1\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_TRUE(s.in_data());
}

TEST(SinkSession, EhloAdvertisesXverpAndAuth) {
  SessionOptions o;
  o.xverp = true;
  o.auth = Credentials{"u", "p"};
  o.max_message_size = 1000;
  Outcome r = run_whole("EHLO c\r\n", o);
  EXPECT_EQ(r.output,
            "220 sink ESMTP\r\n250-sink\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
            "250-CHUNKING\r\n250-XVERP\r\n250-AUTH PLAIN LOGIN\r\n250 ENHANCEDSTATUSCODES\r\n");
}

TEST(SinkSession, SequenceErrors) {
  Outcome r = run_whole(
      "MAIL FROM:<a@b>\r\n"   // before HELO
      "HELO c\r\n"
      "RCPT TO:<x@y>\r\n"     // before MAIL
      "DATA\r\n"              // before MAIL
      "MAIL FROM:<a@b>\r\n"
      "MAIL FROM:<a@b>\r\n"   // nested
      "DATA\r\n"              // no recipients
      "HELO\r\n"              // no argument
      "EHLO\r\n");
  EXPECT_EQ(r.output,
            "220 sink ESMTP\r\n"
            "503 5.5.1 Bad sequence of commands\r\n"
            "250 sink\r\n"
            "503 5.5.1 Bad sequence of commands\r\n"
            "503 5.5.1 Bad sequence of commands\r\n"
            "250 2.1.0 Ok\r\n"
            "503 5.5.1 Bad sequence of commands\r\n"
            "554 5.5.1 No valid recipients\r\n"
            "501 5.5.4 Syntax error in parameters or arguments\r\n"
            "501 5.5.4 Syntax error in parameters or arguments\r\n");
  EXPECT_EQ(r.counters.errors, 7u);
}

TEST(SinkSession, MailAndRcptParameters) {
  SessionOptions o;
  o.max_message_size = 1000;
  Outcome r = run_whole(
      "EHLO c\r\n"
      "MAIL FROM:<a@b> SIZE=1001\r\n"
      "MAIL FROM:<a@b> BODY=BINARYMIME\r\n"
      "MAIL FROM:<a@b> XVERP\r\n"
      "MAIL FROM:<a@b> FOO=1\r\n"
      "MAIL FROM:<a@b> SIZE=x\r\n"
      "MAIL FROM:a@b\r\n"
      "RCPT TO:<c@d> NOTIFY=NEVER\r\n"
      "RCPT TO:<>\r\n"
      "RCPT TO:c@d\r\n"
      "RSET\r\n"
      "mail from: <a@b> SIZE=1000 BODY=7BIT SMTPUTF8\r\n",
      o);
  const std::string ehlo_1000 =
      "250-sink\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
      "250 ENHANCEDSTATUSCODES\r\n";
  EXPECT_EQ(r.output, "220 sink ESMTP\r\n" + ehlo_1000 +
                          "552 5.3.4 Message too big\r\n"
                          "501 5.5.4 Syntax error in parameters or arguments\r\n"
                          "555 5.5.4 Unsupported parameter\r\n"
                          "555 5.5.4 Unsupported parameter\r\n"
                          "501 5.5.4 Syntax error in parameters or arguments\r\n"
                          "250 2.1.0 Ok\r\n"
                          "555 5.5.4 Unsupported parameter\r\n"
                          "501 5.5.4 Syntax error in parameters or arguments\r\n"
                          "250 2.1.5 Ok\r\n"
                          "250 2.0.0 Ok\r\n"
                          "250 2.1.0 Ok\r\n");
  SessionOptions x;
  x.xverp = true;
  x.auth = Credentials{"u", "p"};
  Outcome rx = run_whole("EHLO c\r\nAUTH PLAIN AHUAcA==\r\nMAIL FROM:<a@b> XVERP=+= AUTH=<>\r\n", x);
  EXPECT_NE(rx.output.find("235 2.7.0"), std::string::npos);
  EXPECT_TRUE(rx.output.ends_with("250 2.1.0 Ok\r\n")) << rx.output;
}

TEST(SinkSession, LongLineIsRefusedAndSessionGoesOn) {
  std::string longline = "NOOP " + std::string(kMaxCommandLine, 'x') + "\r\n";
  const std::string input = "EHLO c\r\n" + longline + "NOOP\r\n";
  const Outcome whole = run_whole(input);
  EXPECT_TRUE(whole.output.ends_with("500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n")) << whole.output;
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); i += 7) cuts.push_back(i);
  EXPECT_EQ(run(input, cuts, {}).output, whole.output);
}

TEST(SinkSession, BareLfCommandLinesAreAccepted) {
  Outcome r = run_whole("HELO c\nNOOP\n");
  EXPECT_EQ(r.output, "220 sink ESMTP\r\n250 sink\r\n250 2.0.0 Ok\r\n");
}

TEST(SinkSession, OnlyCrLfDotCrLfEndsTheBody) {
  SessionOptions o = tracking();
  Outcome r = run_whole("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\n.\nQUIT\r\n\r.\r\n.\r\n", o);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "x\n.\nQUIT\r\n\r.\r\n");
  EXPECT_FALSE(r.closing);
}

TEST(SinkSession, EmptyBody) {
  SessionOptions o = tracking();
  Outcome r = run_whole("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n.\r\n", o);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "");
  EXPECT_EQ(r.messages[0].body_bytes, 0u);
  EXPECT_EQ(r.messages[0].message_id, "");
}

TEST(SinkSession, BodyOverSizeIsRefusedAfterTheDot) {
  SessionOptions o = tracking();
  o.max_message_size = 10;
  Outcome r = run_whole("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n0123456789\r\n.\r\n", o);
  EXPECT_TRUE(r.output.ends_with("354 End data with <CR><LF>.<CR><LF>\r\n552 5.3.4 Message too big\r\n"));
  EXPECT_TRUE(r.messages.empty());
  EXPECT_EQ(r.counters.data_failed, 1u);
  // Exactly the limit (stuffed dots do not count).
  Outcome ok = run_whole("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n..345678\r\n.\r\n", o);
  EXPECT_TRUE(ok.output.ends_with("250 2.0.0 Ok: queued as 1\r\n")) << ok.output;
}

TEST(SinkSession, QuitIgnoresTheRest) {
  Outcome r = run_whole("QUIT\r\nNOOP\r\n");
  EXPECT_EQ(r.output, "220 sink ESMTP\r\n221 2.0.0 Bye\r\n");
  EXPECT_TRUE(r.closing);
}

TEST(SinkSession, GoDownAndRefuse) {
  FaultEngine engine;
  Counters counters;
  SessionOptions o;
  Session a(o, engine, counters, nullptr);
  a.start();
  a.feed("HELO c\r\nMAIL FROM:<a@b>\r\n");
  a.go_down();
  EXPECT_TRUE(a.output().ends_with("421 4.3.2 sink going down\r\n"));
  EXPECT_TRUE(a.closing());
  Session b(o, engine, counters, nullptr);
  b.refuse();
  EXPECT_EQ(b.output(), "421 4.3.2 sink is down\r\n");
  EXPECT_TRUE(b.closing());
}

// ---- faults ------------------------------------------------------------------------

const char* kTwoRcpts =
    "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<Bob@example.com>\r\nRCPT TO:<carol@example.com>\r\n"
    "RCPT TO:<dave@example.com>\r\nDATA\r\nMessage-ID: <m@x>\r\n\r\nhi\r\n.\r\n";

TEST(SinkSession, FailRcptRules) {
  Faults f;
  f.fail_rcpt = {{"bob", 550}, {"CAROL@", 451}};
  Outcome r = run_whole(kTwoRcpts, tracking(), f);
  EXPECT_EQ(r.output,
            "220 sink ESMTP\r\n250 sink\r\n250 2.1.0 Ok\r\n"
            "550 5.1.1 Recipient refused (sink fault)\r\n"
            "451 4.2.1 Recipient temporarily refused (sink fault)\r\n"
            "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as 1\r\n");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].recipients, std::vector<std::string>{"dave@example.com"});
  EXPECT_EQ(r.counters.rcpt_refused, 2u);
  EXPECT_EQ(r.counters.rcpt_accepted, 1u);
}

TEST(SinkSession, RcptTempAndPermFail) {
  Faults temp;
  temp.rcpt_temp_fail = 1;
  Outcome t = run_whole("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n", {}, temp);
  EXPECT_TRUE(t.output.ends_with("450 4.2.1 Recipient temporarily refused (sink fault)\r\n"
                                 "554 5.5.1 No valid recipients\r\n"))
      << t.output;
  Faults perm;
  perm.rcpt_perm_fail = 1;
  Outcome p = run_whole("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\n", {}, perm);
  EXPECT_TRUE(p.output.ends_with("550 5.1.1 Recipient refused (sink fault)\r\n")) << p.output;
}

TEST(SinkSession, RandomFaultsAreReproducibleBySeed) {
  Faults f;
  f.rcpt_temp_fail = 0.3;
  f.rcpt_perm_fail = 0.2;
  std::string input = "HELO c\r\nMAIL FROM:<a@b>\r\n";
  for (int i = 0; i < 1000; ++i) input += "RCPT TO:<m" + std::to_string(i) + "@x>\r\n";
  Outcome a = run(input, {}, {}, f, 7);
  Outcome b = run(input, {100, 2000}, {}, f, 7);
  Outcome c = run(input, {}, {}, f, 8);
  EXPECT_EQ(a.output, b.output);
  EXPECT_NE(a.output, c.output);
  EXPECT_EQ(a.counters.rcpt_accepted + a.counters.rcpt_refused, 1000u);
  EXPECT_GT(a.counters.rcpt_accepted, 400u);
  EXPECT_LT(a.counters.rcpt_accepted, 600u);
}

TEST(SinkSession, DataTempAndPermFail) {
  Faults temp;
  temp.data_temp_fail = 1;
  Outcome t = run_whole(kTwoRcpts, tracking(), temp);
  EXPECT_TRUE(t.output.ends_with("354 End data with <CR><LF>.<CR><LF>\r\n451 4.3.0 Temporary failure (sink fault)\r\n"));
  EXPECT_TRUE(t.messages.empty());
  EXPECT_EQ(t.counters.data_failed, 1u);
  EXPECT_EQ(t.counters.transactions, 0u);
  Faults perm;
  perm.data_perm_fail = 1;
  Outcome p = run_whole(kTwoRcpts, tracking(), perm);
  EXPECT_TRUE(p.output.ends_with("554 5.6.0 Message refused (sink fault)\r\n"));
  EXPECT_TRUE(p.messages.empty());
}

TEST(SinkSession, DropMidData) {
  Faults f;
  f.drop_mid_data = 1;
  Outcome r = run_whole(std::string(kTwoRcpts) + "QUIT\r\n", tracking(), f);
  EXPECT_TRUE(r.output.ends_with("354 End data with <CR><LF>.<CR><LF>\r\n")) << r.output;
  EXPECT_TRUE(r.closing);
  EXPECT_TRUE(r.dropped);
  EXPECT_TRUE(r.messages.empty());
  EXPECT_EQ(r.counters.drops, 1u);
}

TEST(SinkSession, MaxRecipients) {
  SessionOptions o;
  o.max_recipients = 2;
  Outcome r = run_whole("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@x>\r\nRCPT TO:<2@x>\r\nRCPT TO:<3@x>\r\n", o);
  EXPECT_TRUE(r.output.ends_with("250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Too many recipients\r\n"));
  EXPECT_EQ(r.counters.rcpt_refused, 1u);
}

// ---- AUTH --------------------------------------------------------------------------

SessionOptions with_auth() {
  SessionOptions o;
  o.auth = Credentials{"user", "secret"};
  return o;
}

std::string b64(const std::string& s) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int k2 = 18; k2 >= 0; k2 -= 6) out.push_back(k[(v >> k2) & 63]);
  }
  if (s.size() - i == 1) {
    uint32_t v = uint8_t(s[i]) << 16;
    out += {k[(v >> 18) & 63], k[(v >> 12) & 63], '=', '='};
  } else if (s.size() - i == 2) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    out += {k[(v >> 18) & 63], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

TEST(SinkSession, AuthRequiredBeforeMail) {
  Outcome r = run_whole("EHLO c\r\nMAIL FROM:<a@b>\r\n", with_auth());
  EXPECT_TRUE(r.output.ends_with("530 5.7.0 Authentication required\r\n"));
}

TEST(SinkSession, AuthPlainInitialResponse) {
  const std::string good = b64(std::string("\0user\0secret", 12));
  const std::string bad = b64(std::string("\0user\0wrong", 11));
  Outcome r = run_whole("EHLO c\r\nAUTH PLAIN " + bad + "\r\nAUTH PLAIN " + good + "\r\nAUTH PLAIN " + good +
                        "\r\nMAIL FROM:<a@b>\r\n",
                    with_auth());
  EXPECT_TRUE(r.output.ends_with("535 5.7.8 Authentication credentials invalid\r\n"
                                 "235 2.7.0 Authentication successful\r\n"
                                 "503 5.5.1 Bad sequence of commands\r\n"
                                 "250 2.1.0 Ok\r\n"))
      << r.output;
  EXPECT_EQ(r.counters.auth_ok, 1u);
  EXPECT_EQ(r.counters.auth_failed, 1u);
}

TEST(SinkSession, AuthPlainChallengeAndCancel) {
  const std::string good = b64(std::string("authz\0user\0secret", 17));
  Outcome r = run_whole("EHLO c\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN\r\n!!!\r\nAUTH PLAIN\r\n" + good + "\r\n", with_auth());
  EXPECT_TRUE(r.output.ends_with("334 \r\n501 5.0.0 Authentication cancelled\r\n"
                                 "334 \r\n501 5.5.2 Cannot decode response\r\n"
                                 "334 \r\n235 2.7.0 Authentication successful\r\n"))
      << r.output;
}

TEST(SinkSession, AuthLogin) {
  Outcome r = run_whole("EHLO c\r\nAUTH LOGIN\r\n" + b64("user") + "\r\n" + b64("secret") + "\r\nMAIL FROM:<a@b>\r\n",
                    with_auth());
  EXPECT_TRUE(r.output.ends_with("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n"
                                 "250 2.1.0 Ok\r\n"))
      << r.output;
  Outcome bad = run_whole("EHLO c\r\nAUTH LOGIN " + b64("user") + "\r\n" + b64("nope") + "\r\n", with_auth());
  EXPECT_TRUE(bad.output.ends_with("334 UGFzc3dvcmQ6\r\n535 5.7.8 Authentication credentials invalid\r\n"))
      << bad.output;
}

TEST(SinkSession, AuthErrors) {
  Outcome off = run_whole("EHLO c\r\nAUTH PLAIN AHUAcA==\r\n");
  EXPECT_TRUE(off.output.ends_with("502 5.5.1 AUTH not available\r\n"));
  Outcome mech = run_whole("EHLO c\r\nAUTH CRAM-MD5\r\n", with_auth());
  EXPECT_TRUE(mech.output.ends_with("504 5.5.4 Unrecognized authentication type\r\n"));
  Outcome early = run_whole("AUTH PLAIN AHUAcA==\r\n", with_auth());
  EXPECT_TRUE(early.output.ends_with("503 5.5.1 Bad sequence of commands\r\n"));
}

TEST(SinkSession, Base64) {
  std::string out;
  EXPECT_TRUE(decode_base64("aGVsbG8=", out));
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(decode_base64("aGVsbG8h", out));
  EXPECT_EQ(out, "hello!");
  EXPECT_TRUE(decode_base64("aGk=", out) && out == "hi");
  EXPECT_TRUE(decode_base64("aA==", out) && out == "h");
  EXPECT_TRUE(decode_base64("", out) && out.empty());
  EXPECT_FALSE(decode_base64("aGk", out));
  EXPECT_FALSE(decode_base64("a=k=", out));
  EXPECT_FALSE(decode_base64("a*k=", out));
}

// ---- Message-ID across buffers -----------------------------------------------------

TEST(SinkSession, MessageIdFoundAtEverySplit) {
  const std::string prefix = "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n";
  const std::string body =
      "Received: from somewhere\r\n\tby elsewhere\r\nSubject: hi\r\nMessage-Id: <abc.123@example.org>\r\n"
      "X-Other: y\r\n\r\nMessage-ID: <not-this@x>\r\n";
  const std::string input = prefix + body + ".\r\n";
  for (size_t cut = prefix.size(); cut < input.size(); ++cut) {
    for (size_t cut2 : {cut + 1, cut + 5, input.size()}) {
      Outcome r = run(input, {cut, cut2}, tracking());
      ASSERT_EQ(r.messages.size(), 1u) << cut;
      ASSERT_EQ(r.messages[0].message_id, "<abc.123@example.org>") << cut << " " << cut2;
      ASSERT_EQ(r.messages[0].body, body);
    }
  }
}

TEST(SinkSession, NoMessageIdInBodyProper) {
  Outcome r = run_whole("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\nMessage-ID: <no@x>\r\n.\r\n",
                    tracking());
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].message_id, "");
  Outcome empty_first = run_whole("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n\r\nMessage-ID: <no@x>\r\n.\r\n",
                              tracking());
  ASSERT_EQ(empty_first.messages.size(), 1u);
  EXPECT_EQ(empty_first.messages[0].message_id, "");
}

TEST(SinkSession, WithoutTrackingOnlyCountsAreReported) {
  Outcome r = run_whole(kTwoRcpts, SessionOptions{});
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].recipient_count, 3u);
  EXPECT_TRUE(r.messages[0].recipients.empty());
  EXPECT_EQ(r.messages[0].message_id, "");
  EXPECT_EQ(r.messages[0].body, "");
  EXPECT_EQ(r.messages[0].body_bytes, 25u);  // "Message-ID: <m@x>\r\n\r\nhi\r\n"
}

// ---- BDAT (RFC 3030) ---------------------------------------------------------------

// "BDAT <size>[ LAST]" CRLF, then the chunk's bytes.
std::string chunk(const std::string& bytes, bool last = false) {
  return "BDAT " + std::to_string(bytes.size()) + (last ? " LAST" : "") + "\r\n" + bytes;
}

std::string chunk_ok(size_t size) { return "250 2.0.0 Ok: " + std::to_string(size) + " bytes\r\n"; }

constexpr const char* kEnvelope = "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n";
constexpr const char* kEnvelopeReplies = "220 sink ESMTP\r\n250 sink\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n";
constexpr const char* kBadSequence = "503 5.5.1 Bad sequence of commands\r\n";
constexpr const char* kNoRecipients = "554 5.5.1 No valid recipients\r\n";
constexpr const char* kTooBig = "552 5.3.4 Message too big\r\n";

// Bytes that would mean something outside a chunk: a final dot, stuffed
// dots, commands, a bare CR and LF, a NUL.
constexpr char kRawBytes[] =
    "Message-ID: <chunk@x>\r\nSubject: s\r\n\r\n..not stuffed\r\n.\r\nQUIT\r\nBDAT 5 LAST\r\nRSET\r\n\rx\n\0end";
const std::string kRawBody(kRawBytes, sizeof kRawBytes - 1);

TEST(SinkSession, BdatOneChunkIsTakenRaw) {
  Outcome r = run_whole(std::string("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n") + chunk(kRawBody, true) + "NOOP\r\n",
                        tracking());
  EXPECT_EQ(r.output, std::string("220 sink ESMTP\r\n") + kEhloPlain +
                          "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as 1\r\n250 2.0.0 Ok\r\n");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, kRawBody);
  EXPECT_EQ(r.messages[0].body_bytes, kRawBody.size());
  EXPECT_EQ(r.messages[0].message_id, "<chunk@x>");
  EXPECT_EQ(r.messages[0].mail_from, "a@b");
  EXPECT_EQ(r.messages[0].recipients, std::vector<std::string>{"c@d"});
  EXPECT_FALSE(r.closing);
  EXPECT_EQ(r.counters.transactions, 1u);
  EXPECT_EQ(r.counters.body_bytes, kRawBody.size());
  EXPECT_EQ(r.counters.data_bytes, kRawBody.size());
  EXPECT_EQ(r.counters.errors, 0u);
}

TEST(SinkSession, BdatChunksAreConcatenated) {
  // The Message-ID field is cut between two chunks; empty chunks are fine.
  const std::string a = "Subject: s\r\nMessage-";
  const std::string b = "ID: <multi@x>\r\n\r\n";
  const std::string c = "body\r\n";
  Outcome r = run_whole(kEnvelope + chunk(a) + chunk(b) + chunk("") + chunk(c) + chunk("", true), tracking());
  EXPECT_EQ(r.output, kEnvelopeReplies + chunk_ok(a.size()) + chunk_ok(b.size()) + chunk_ok(0) + chunk_ok(c.size()) +
                          "250 2.0.0 Ok: queued as 1\r\n");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, a + b + c);
  EXPECT_EQ(r.messages[0].body_bytes, (a + b + c).size());
  EXPECT_EQ(r.messages[0].message_id, "<multi@x>");
  EXPECT_EQ(r.counters.data_bytes, (a + b + c).size());
}

TEST(SinkSession, BdatZeroLastEndsTheMessage) {
  Outcome empty = run_whole(kEnvelope + std::string("BDAT 0 LAST\r\nRCPT TO:<c@d>\r\n"), tracking());
  EXPECT_EQ(empty.output, kEnvelopeReplies + std::string("250 2.0.0 Ok: queued as 1\r\n") + kBadSequence);
  ASSERT_EQ(empty.messages.size(), 1u);
  EXPECT_EQ(empty.messages[0].body, "");
  EXPECT_EQ(empty.messages[0].body_bytes, 0u);
  EXPECT_EQ(empty.messages[0].message_id, "");
  // The size may have leading zeros; verb and LAST may be in any case.
  Outcome lower = run_whole(kEnvelope + std::string("bdat 003\r\nabcBdat 0 last\r\n"), tracking());
  EXPECT_EQ(lower.output, kEnvelopeReplies + chunk_ok(3) + "250 2.0.0 Ok: queued as 1\r\n");
  ASSERT_EQ(lower.messages.size(), 1u);
  EXPECT_EQ(lower.messages[0].body, "abc");
}

// Whole transactions pipelined the way listgate's client writes them (the
// chunk right behind its BDAT line, RSET between transactions), with a
// multi-chunk message, refused chunks and a DATA transaction in between.
std::string bdat_dialogue() {
  std::string big = "Message-ID: <big@x>\r\n\r\n";
  while (big.size() < 4096) big += ".line " + std::to_string(big.size()) + "\r\n.\r\nBDAT 1\r\n";
  big.resize(4096);
  return "EHLO client.example\r\n"
         "MAIL FROM:<a@b> SIZE=4200\r\nRCPT TO:<b@x>\r\n" + chunk(big, true) +
         "RSET\r\n"
         "MAIL FROM:<>\r\nRCPT TO:<c@x>\r\nRCPT TO:<d@x>\r\n" + chunk("Message-ID: <se") + chunk("") +
         chunk("cond@x>\r\n\r\nhi\r\n", true) +
         "RSET\r\n" +
         chunk("QUIT\r\n", true) +                                  // no MAIL
         "MAIL FROM:<e@x>\r\n" + chunk("NOOP\r\n") +                // no RCPT
         "RCPT TO:<f@x>\r\n" +                                      // after BDAT
         chunk("RSET\r\n", true) +                                  // no RCPT, ends the transaction
         "MAIL FROM:<g@x>\r\nRCPT TO:<h@x>\r\nDATA\r\nMessage-ID: <third@x>\r\n\r\n..dot\r\n.\r\n"
         "QUIT\r\n";
}

TEST(SinkSession, BdatPipelinedTransactionsAtEverySplit) {
  const Outcome whole = expect_same_at_every_split(bdat_dialogue(), tracking());
  EXPECT_EQ(whole.output, std::string("220 sink ESMTP\r\n") + kEhloPlain +
                              "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as 1\r\n"
                              "250 2.0.0 Ok\r\n"
                              "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n" +
                              chunk_ok(15) + chunk_ok(0) + "250 2.0.0 Ok: queued as 2\r\n"
                              "250 2.0.0 Ok\r\n" +
                              kBadSequence + "250 2.1.0 Ok\r\n" + kNoRecipients + kBadSequence + kNoRecipients +
                              "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                              "250 2.0.0 Ok: queued as 3\r\n"
                              "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(whole.closing);
  ASSERT_EQ(whole.messages.size(), 3u);
  EXPECT_EQ(whole.messages[0].message_id, "<big@x>");
  EXPECT_EQ(whole.messages[0].body_bytes, 4096u);
  EXPECT_EQ(whole.messages[0].body.size(), 4096u);
  EXPECT_EQ(whole.messages[1].mail_from, "");
  EXPECT_EQ(whole.messages[1].recipients, (std::vector<std::string>{"c@x", "d@x"}));
  EXPECT_EQ(whole.messages[1].message_id, "<second@x>");
  EXPECT_EQ(whole.messages[1].body, "Message-ID: <second@x>\r\n\r\nhi\r\n");
  EXPECT_EQ(whole.messages[2].message_id, "<third@x>");
  EXPECT_EQ(whole.messages[2].body, "Message-ID: <third@x>\r\n\r\n.dot\r\n");
  EXPECT_EQ(whole.counters.transactions, 3u);
  EXPECT_EQ(whole.counters.errors, 4u);
}

TEST(SinkSession, PipelinedBdatGroupIsAnsweredInOneFeed) {
  QuietSession q;
  Session& s = q.session;
  Counters& counters = q.counters;
  s.feed("EHLO c\r\nMAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<x@y>\r\nBDAT 10 LAST\r\n0123");
  EXPECT_EQ(s.output(), std::string(kEhloPlain) + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
  EXPECT_TRUE(s.in_data());
  s.output().clear();
  // The rest of the chunk and the next transaction in one read.
  s.feed("456789RSET\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nBDAT 3\r\nabc");
  EXPECT_EQ(s.output(), "250 2.0.0 Ok: queued as 1\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" + chunk_ok(3));
  EXPECT_FALSE(s.in_data());
  EXPECT_EQ(counters.data_bytes, 13u);
}

TEST(SinkSession, BdatRefusedChunksAreConsumed) {
  // Every refused chunk holds a command, which would be answered if the chunk were read as commands.
  const std::string noop = "NOOP\r\n";
  Outcome r = run_whole(chunk(noop) +                                      // before HELO
                            "HELO c\r\n" + chunk(noop, true) +             // no MAIL
                            "MAIL FROM:<a@b>\r\n" + chunk(noop) +          // no RCPT; MAIL stays
                            "RCPT TO:<c@d>\r\n" +                          // RCPT after BDAT
                            chunk(noop, true) +                            // no RCPT; LAST ends the transaction
                            "RCPT TO:<c@d>\r\n" +                          // no MAIL
                            "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n" + chunk("x") +
                            "DATA\r\n" +                                   // DATA after BDAT; the chunks go on
                            chunk(noop, true) + chunk(noop, true) +        // accepted; then no MAIL
                            "QUIT\r\n",
                        tracking());
  EXPECT_EQ(r.output, std::string("220 sink ESMTP\r\n") + kBadSequence + "250 sink\r\n" + kBadSequence +
                          "250 2.1.0 Ok\r\n" + kNoRecipients + kBadSequence + kNoRecipients + kBadSequence +
                          "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" + chunk_ok(1) + kBadSequence +
                          "250 2.0.0 Ok: queued as 1\r\n" + kBadSequence + "221 2.0.0 Bye\r\n");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "x" + noop);
  EXPECT_EQ(r.counters.errors, 8u);
  EXPECT_EQ(r.counters.transactions, 1u);
  EXPECT_EQ(r.counters.data_failed, 0u);
  EXPECT_EQ(r.counters.data_bytes, 6 * noop.size() + 1);
  EXPECT_EQ(r.counters.body_bytes, 1 + noop.size());
}

TEST(SinkSession, BdatSyntaxErrorReadsNoChunk) {
  // After the 501 the next line is a command again (it cannot be told where a chunk of unknown size ends).
  for (const char* bad : {"BDAT", "BDAT x", "BDAT -1", "BDAT +1", "BDAT 1x", "BDAT 0x10", "BDAT 10 LAS", "BDAT 10 LAST x",
                          "BDAT 10 ", "BDAT 10  LAST", "BDAT 1 FIRST", "BDAT 18446744073709551616"}) {
    Outcome r = run_whole(kEnvelope + std::string(bad) + "\r\nNOOP\r\n" + chunk("z", true));
    EXPECT_EQ(r.output, kEnvelopeReplies + std::string("501 5.5.4 Syntax error in parameters or arguments\r\n"
                                                       "250 2.0.0 Ok\r\n250 2.0.0 Ok: queued as 1\r\n"))
        << bad;
    EXPECT_EQ(r.counters.errors, 1u) << bad;
  }
}

TEST(SinkSession, BdatOverSizeIsRefusedAndConsumed) {
  SessionOptions o = tracking();
  o.max_message_size = 10;
  const std::string again = "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n";
  Outcome r = run_whole(kEnvelope + chunk("123456") + chunk("NOOP\r\n") + chunk("NOOP\r\n", true) +  // 12 > 10
                            again + chunk("123456") + chunk("7890", true) +                         // exactly 10
                            again + chunk("12345678901", true) +                                    // 11 at once
                            again + chunk("", true),
                        o);
  EXPECT_EQ(r.output, kEnvelopeReplies + chunk_ok(6) + kTooBig + kTooBig +
                          "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" + chunk_ok(6) + "250 2.0.0 Ok: queued as 1\r\n" +
                          "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" + kTooBig +
                          "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as 2\r\n");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].body, "1234567890");
  EXPECT_EQ(r.counters.data_failed, 2u);
  EXPECT_EQ(r.counters.transactions, 2u);
  EXPECT_EQ(r.counters.errors, 0u);
  EXPECT_EQ(r.counters.data_bytes, 6u + 6 + 6 + 10 + 11);
}

TEST(SinkSession, BdatDataFaultsComeAfterTheLastChunk) {
  const std::string input = kEnvelope + chunk("Subject: x\r\n") + chunk("\r\nhi\r\n", true) + chunk("z", true);
  Faults temp;
  temp.data_temp_fail = 1;
  Outcome t = run_whole(input, tracking(), temp);
  // The transaction is over after the refused LAST chunk: the next BDAT has no MAIL.
  EXPECT_EQ(t.output, kEnvelopeReplies + chunk_ok(12) + "451 4.3.0 Temporary failure (sink fault)\r\n" + kBadSequence);
  EXPECT_TRUE(t.messages.empty());
  EXPECT_EQ(t.counters.data_failed, 1u);
  EXPECT_EQ(t.counters.transactions, 0u);
  Faults perm;
  perm.data_perm_fail = 1;
  Outcome p = run_whole(input, tracking(), perm);
  EXPECT_EQ(p.output, kEnvelopeReplies + chunk_ok(12) + "554 5.6.0 Message refused (sink fault)\r\n" + kBadSequence);
  EXPECT_TRUE(p.messages.empty());
}

TEST(SinkSession, BdatDropMidChunk) {
  Faults f;
  f.drop_mid_data = 1;
  const Outcome r =
      expect_same_at_every_split(kEnvelope + chunk("Subject: x\r\n\r\nbody\r\n", true) + "QUIT\r\n", tracking(), f);
  EXPECT_EQ(r.output, kEnvelopeReplies);
  EXPECT_TRUE(r.closing);
  EXPECT_TRUE(r.dropped);
  EXPECT_TRUE(r.messages.empty());
  EXPECT_EQ(r.counters.drops, 1u);
  EXPECT_EQ(r.counters.data_bytes, 0u);
  // An empty first chunk has no middle: the connection closes instead of replying to it.
  const Outcome empty = run_whole(kEnvelope + std::string("BDAT 0\r\nBDAT 1 LAST\r\nx"), {}, f);
  EXPECT_EQ(empty.output, kEnvelopeReplies);
  EXPECT_TRUE(empty.dropped);
  // Refused chunks are no body: nothing drawn, nothing dropped.
  const Outcome refused =
      run_whole("HELO c\r\n" + chunk("x") + "MAIL FROM:<a@b>\r\n" + chunk("y", true) + "QUIT\r\n", {}, f);
  EXPECT_EQ(refused.output, std::string("220 sink ESMTP\r\n250 sink\r\n") + kBadSequence + "250 2.1.0 Ok\r\n" +
                                kNoRecipients + "221 2.0.0 Bye\r\n");
  EXPECT_FALSE(refused.dropped);
}

TEST(SinkSession, NoChunking) {
  SessionOptions o;
  o.chunking = false;
  // BDAT is an unknown command, so what follows it is read as commands (here NOOP).
  Outcome r = run_whole("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 6 LAST\r\nNOOP\r\n", o);
  EXPECT_EQ(r.output,
            "220 sink ESMTP\r\n"
            "250-sink\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n"
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n500 5.5.1 Command unrecognized\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(r.counters.errors, 1u);
}

// ---- record lines ------------------------------------------------------------------

TEST(SinkRecord, LineFormat) {
  std::string_view rcpts[] = {"alice@example.com", "we ird\\@x"};
  AcceptedMessage m;
  m.mail_from = "";
  m.recipients = rcpts;
  m.message_id = "<id@x>";
  m.body_bytes = 123;
  std::string out;
  append_record_lines(out, m);
  EXPECT_EQ(out, "<id@x> alice@example.com <> 123\n<id@x> we\\x20ird\\x5c@x <> 123\n");
  m.message_id = "";
  m.mail_from = "list-bounces+bob=example.com@lists.example.org";
  m.recipients = std::span<const std::string_view>(rcpts, 1);
  out.clear();
  append_record_lines(out, m);
  EXPECT_EQ(out, "- alice@example.com list-bounces+bob=example.com@lists.example.org 123\n");
}

}  // namespace
}  // namespace listgate::sink

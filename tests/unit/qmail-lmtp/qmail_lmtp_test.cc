// Unit tests of qmail-lmtp's socket-free parts (tools/qmail-lmtp/qmail_lmtp.h).
#include "qmail_lmtp.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace qmail_lmtp {
namespace {

ParsedArgs parse(std::vector<std::string_view> args) { return parse_args(args); }

TEST(QmailLmtpArgs, PortStripAndDefaultHost) {
  auto p = parse({"8024", "1"});
  ASSERT_TRUE(p.options);
  EXPECT_EQ(p.options->port, 8024);
  EXPECT_EQ(p.options->strip, 1u);
  EXPECT_EQ(p.options->host, "127.0.0.1");
}

TEST(QmailLmtpArgs, HostNameAddressOrSocketPath) {
  for (std::string_view host : {"localhost", "::1", "lmtp.example.org", "/run/listgate/lmtp.sock"}) {
    auto p = parse({"24", "0", host});
    ASSERT_TRUE(p.options) << host;
    EXPECT_EQ(p.options->host, host);
    EXPECT_EQ(p.options->strip, 0u);
  }
}

TEST(QmailLmtpArgs, BadCommandLinesAreTemporary) {
  // A broken .qmail line: the mail waits in qmail's queue until it is fixed.
  const std::vector<std::vector<std::string_view>> bad = {
      {},           {"8024"},       {"8024", "1", "h", "x"}, {"0", "1"},      {"65536", "1"}, {"80x", "1"},
      {"-1", "1"},  {"8024", "-1"}, {"8024", "one"},         {"8024", "101"}, {"", "1"},      {"8024", ""},
      {"8024", "1", ""}, {"8024", "1", "bad host"},
  };
  for (const auto& args : bad) {
    auto p = parse(args);
    std::string shown;
    for (auto a : args) shown.append("'").append(a).append("' ");
    EXPECT_FALSE(p.options) << shown;
    EXPECT_EQ(p.failure.outcome, Outcome::temporary) << shown;
    EXPECT_FALSE(p.failure.reason.empty()) << shown;
    EXPECT_EQ(p.failure.reason.find('\n'), std::string::npos) << shown;
  }
}

TEST(QmailLmtpExit, QmailCommandCodes) {
  EXPECT_EQ(exit_code(Outcome::delivered), 0);
  EXPECT_EQ(exit_code(Outcome::permanent), 100);
  EXPECT_EQ(exit_code(Outcome::temporary), 111);
}

TEST(QmailLmtpStrip, DropsDashSeparatedPartsFromTheFront) {
  EXPECT_EQ(strip_local_part("announce", 0), "announce");
  EXPECT_EQ(strip_local_part("mailman-announce", 1), "announce");
  EXPECT_EQ(strip_local_part("mailman-announce-bounces", 1), "announce-bounces");
  EXPECT_EQ(strip_local_part("mailman-announce-bounces+alice=example.org", 1),
            "announce-bounces+alice=example.org");
  EXPECT_EQ(strip_local_part("example-lists-announce-owner", 2), "announce-owner");
  EXPECT_EQ(strip_local_part("a-b-c-d", 3), "d");
}

TEST(QmailLmtpStrip, NothingLeftIsNoAddress) {
  EXPECT_EQ(strip_local_part("mailman", 1), std::nullopt);
  EXPECT_EQ(strip_local_part("mailman-", 1), std::nullopt);
  EXPECT_EQ(strip_local_part("example-lists", 2), std::nullopt);
  EXPECT_EQ(strip_local_part("", 0), std::nullopt);
}

// A fake environment.
struct Env {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

// What qmail-local sets for announce@lists.example.org with
// "lists.example.org:mailman" in control/virtualdomains.
Env qmail_env() {
  return Env{{{"SENDER", "alice@example.com"},
              {"RECIPIENT", "mailman-announce@lists.example.org"},
              {"LOCAL", "mailman-announce"},
              {"HOST", "lists.example.org"},
              {"USER", "mailman"},
              {"EXT", "announce"},
              {"DTLINE", "Delivered-To: mailman-announce@lists.example.org\n"}}};
}

TEST(QmailLmtpEnvelope, FromQmailLocalsEnvironment) {
  Env env = qmail_env();
  auto e = envelope_from_env(env.lookup(), 1);
  ASSERT_TRUE(e.envelope) << e.failure.reason;
  EXPECT_EQ(e.envelope->sender, "alice@example.com");
  EXPECT_EQ(e.envelope->recipient, "announce@lists.example.org");
}

TEST(QmailLmtpEnvelope, StripZeroKeepsTheLocalPart) {
  Env env = qmail_env();
  env.vars["LOCAL"] = "announce";
  auto e = envelope_from_env(env.lookup(), 0);
  ASSERT_TRUE(e.envelope) << e.failure.reason;
  EXPECT_EQ(e.envelope->recipient, "announce@lists.example.org");
}

TEST(QmailLmtpEnvelope, RecipientWhenLocalAndHostAreUnset) {
  Env env{{{"SENDER", "alice@example.com"}, {"RECIPIENT", "example-lists-team-owner@lists.example.org"}}};
  auto e = envelope_from_env(env.lookup(), 2);
  ASSERT_TRUE(e.envelope) << e.failure.reason;
  EXPECT_EQ(e.envelope->recipient, "team-owner@lists.example.org");
}

TEST(QmailLmtpEnvelope, NullAndDoubleBounceSenders) {
  Env env = qmail_env();
  env.vars["SENDER"] = "";
  auto e = envelope_from_env(env.lookup(), 1);
  ASSERT_TRUE(e.envelope);
  EXPECT_EQ(e.envelope->sender, "");
  env.vars["SENDER"] = "#@[]";
  e = envelope_from_env(env.lookup(), 1);
  ASSERT_TRUE(e.envelope);
  EXPECT_EQ(e.envelope->sender, "");
}

TEST(QmailLmtpEnvelope, MissingEnvironmentIsTemporary) {
  Env no_sender = qmail_env();
  no_sender.vars.erase("SENDER");
  Env no_recipient = qmail_env();
  no_recipient.vars.erase("LOCAL");
  no_recipient.vars.erase("RECIPIENT");
  Env bad_recipient{{{"SENDER", ""}, {"RECIPIENT", "no-at-sign"}}};
  for (const Env* env : {&no_sender, &no_recipient, &bad_recipient}) {
    auto e = envelope_from_env(env->lookup(), 1);
    EXPECT_FALSE(e.envelope);
    EXPECT_EQ(e.failure.outcome, Outcome::temporary) << e.failure.reason;
  }
}

TEST(QmailLmtpEnvelope, NoListPartIsPermanent) {
  Env env = qmail_env();
  env.vars["LOCAL"] = "mailman";
  auto e = envelope_from_env(env.lookup(), 1);
  ASSERT_FALSE(e.envelope);
  EXPECT_EQ(e.failure.outcome, Outcome::permanent);
  EXPECT_NE(e.failure.reason.find("mailman@lists.example.org"), std::string::npos) << e.failure.reason;
}

TEST(QmailLmtpEnvelope, AddressesThatCannotGoIntoACommandArePermanent) {
  for (std::string local : {"mailman-a b", "mailman-a>b", "mailman-a\r\nRCPT TO:<x@y>"}) {
    Env env = qmail_env();
    env.vars["LOCAL"] = local;
    auto e = envelope_from_env(env.lookup(), 1);
    EXPECT_FALSE(e.envelope) << local;
    EXPECT_EQ(e.failure.outcome, Outcome::permanent) << local;
    EXPECT_EQ(e.failure.reason.find('\n'), std::string::npos);
  }
  Env env = qmail_env();
  env.vars["SENDER"] = "a<b@example.com";
  auto e = envelope_from_env(env.lookup(), 1);
  EXPECT_FALSE(e.envelope);
  EXPECT_EQ(e.failure.outcome, Outcome::permanent);
}

// Feeds lines until the reader says the reply is complete.
ReplyReader read(const std::vector<std::string>& lines, size_t* used = nullptr) {
  ReplyReader r;
  size_t n = 0;
  for (const std::string& l : lines) {
    ++n;
    if (r.add_line(l)) break;
  }
  if (used) *used = n;
  return r;
}

TEST(QmailLmtpReply, SingleAndMultiLine) {
  auto r = read({"250 2.1.5 Ok"});
  EXPECT_TRUE(r.error().empty());
  EXPECT_EQ(r.reply().code, 250);
  EXPECT_EQ(r.reply().summary(), "250 2.1.5 Ok");

  size_t used = 0;
  r = read({"250-lmtp.test", "250-PIPELINING", "250-8BITMIME", "250 SIZE 1000", "250 extra"}, &used);
  EXPECT_TRUE(r.error().empty());
  EXPECT_EQ(used, 4u);
  EXPECT_EQ(r.reply().lines.size(), 4u);
  EXPECT_TRUE(r.reply().has_keyword("8bitmime"));
  EXPECT_TRUE(r.reply().has_keyword("SIZE"));
  EXPECT_FALSE(r.reply().has_keyword("SMTPUTF8"));
  EXPECT_FALSE(r.reply().has_keyword("lmtp.test"));  // the first line is the host name
  EXPECT_FALSE(r.reply().has_keyword("PIPE"));

  r = read({"354"});
  EXPECT_TRUE(r.error().empty());
  EXPECT_EQ(r.reply().code, 354);
  EXPECT_EQ(r.reply().summary(), "354");
}

TEST(QmailLmtpReply, MalformedLines) {
  for (const std::vector<std::string>& lines : std::vector<std::vector<std::string>>{
           {""}, {"25"}, {"abc ok"}, {"250x"}, {"150 too small"}, {"650 too big"}, {"250-a", "251 b"}}) {
    auto r = read(lines);
    EXPECT_FALSE(r.error().empty()) << lines.back();
  }
  std::vector<std::string> endless(ReplyReader::max_lines + 1, "250-x");
  EXPECT_FALSE(read(endless).error().empty());
}

TEST(QmailLmtpReply, SummaryIsOnePrintableLine) {
  ReplyReader r;
  r.add_line("550-5.1.1 first");
  r.add_line("550 5.1.1 second\x01");
  EXPECT_EQ(r.reply().summary(), "550 5.1.1 first 5.1.1 second?");
  EXPECT_LE(printable(std::string(5000, 'x')).size(), 403u);
}

TEST(QmailLmtpClassify, Codes) {
  using enum Stage;
  using enum Outcome;
  constexpr std::optional<Outcome> goes_on = std::nullopt;  // the dialogue goes on
  struct Case {
    Stage stage;
    int code;
    std::optional<Outcome> expected;
  };
  const Case cases[] = {
      {greeting, 220, goes_on}, {lhlo, 250, goes_on}, {mail, 250, goes_on},
      {rcpt, 250, goes_on},     {rcpt, 251, goes_on}, {data, 354, goes_on},
      {final, 250, delivered},
      // Refusals of the message: permanent.
      {mail, 553, permanent}, {rcpt, 550, permanent}, {data, 554, permanent},
      {final, 552, permanent}, {final, 554, permanent},
      // A server that is not ready or not speaking LMTP: temporary.
      {greeting, 554, temporary}, {lhlo, 500, temporary},
      // 3xx where no 354 belongs, or a 2xx instead of 354: temporary.
      {rcpt, 354, temporary}, {data, 250, temporary}, {final, 354, temporary},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(classify(c.stage, c.code), c.expected) << stage_name(c.stage) << ' ' << c.code;
  }
  // 4xx anywhere: temporary.
  for (Stage stage : {greeting, lhlo, mail, rcpt, data, final}) {
    for (int code : {421, 451}) EXPECT_EQ(classify(stage, code), temporary) << stage_name(stage) << ' ' << code;
  }
}

std::string encode(std::vector<std::string_view> chunks) {
  DataEncoder e;
  std::string out;
  for (auto c : chunks) e.encode(c, out);
  e.finish(out);
  return out;
}

TEST(QmailLmtpData, CrlfAndDotStuffing) {
  EXPECT_EQ(encode({"Subject: x\n\nbody\n"}), "Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(encode({".\n..\n.x\nx.\n"}), "..\r\n...\r\n..x\r\nx.\r\n.\r\n");
  EXPECT_EQ(encode({"a\r\n.b\r\n"}), "a\r\n..b\r\n.\r\n");  // CRLF kept, not doubled
  EXPECT_EQ(encode({"no newline at the end"}), "no newline at the end\r\n.\r\n");
  EXPECT_EQ(encode({"ends in cr\r"}), "ends in cr\r\n.\r\n");
  EXPECT_EQ(encode({""}), ".\r\n");
  EXPECT_EQ(encode({"bare\rcr\n"}), "bare\rcr\r\n.\r\n");
}

TEST(QmailLmtpData, ChunkBoundariesDoNotMatter) {
  const std::string msg = "H: v\n\n.line\n..\nx\r\n.\r\nlast.";
  std::string whole = encode({msg});
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    EXPECT_EQ(encode({std::string_view(msg).substr(0, cut), std::string_view(msg).substr(cut)}), whole) << cut;
  }
  // Byte by byte.
  DataEncoder e;
  std::string out;
  for (char c : msg) e.encode(std::string_view(&c, 1), out);
  e.finish(out);
  EXPECT_EQ(out, whole);
}

TEST(QmailLmtpMail, Parameters) {
  Envelope env{"alice@example.com", "announce@lists.example.org"};
  ReplyReader lhlo;
  for (const char* l : {"250-lmtp.test", "250-PIPELINING", "250-8BITMIME", "250 SMTPUTF8"}) lhlo.add_line(l);
  EXPECT_EQ(mail_command(env, lhlo.reply()), "MAIL FROM:<alice@example.com> BODY=8BITMIME");
  Envelope utf8{"", "ann\xc3\xa9@lists.example.org"};
  EXPECT_EQ(mail_command(utf8, lhlo.reply()), "MAIL FROM:<> BODY=8BITMIME SMTPUTF8");
  ReplyReader plain;
  plain.add_line("250 lmtp.test");
  EXPECT_EQ(mail_command(utf8, plain.reply()), "MAIL FROM:<>");
}

TEST(QmailLmtpTimeouts, DefaultsAndOverride) {
  Env env;
  Timeouts t = timeouts_from_env(env.lookup());
  EXPECT_EQ(t.connect, 30u);
  EXPECT_EQ(t.command, 300u);
  EXPECT_EQ(t.final, 600u);
  env.vars["QMAIL_LMTP_TIMEOUT"] = "2";
  t = timeouts_from_env(env.lookup());
  EXPECT_EQ(t.connect, 2u);
  EXPECT_EQ(t.command, 2u);
  EXPECT_EQ(t.final, 2u);
  for (const char* bad : {"0", "x", "", "3601"}) {
    env.vars["QMAIL_LMTP_TIMEOUT"] = bad;
    EXPECT_EQ(timeouts_from_env(env.lookup()).command, 300u) << bad;
  }
}

}  // namespace
}  // namespace qmail_lmtp

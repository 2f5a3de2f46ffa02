// command_test.cc - verbs, paths and MAIL/RCPT parameters, line by line.
#include "listgate/lmtp/command.h"

#include <gtest/gtest.h>

#include <limits>

namespace listgate::lmtp {
namespace {

TEST(SplitCommand, VerbsAreCaseInsensitive) {
  EXPECT_EQ(split_command("MAIL FROM:<>").verb, Verb::mail);
  EXPECT_EQ(split_command("mail FROM:<>").verb, Verb::mail);
  EXPECT_EQ(split_command("MaIl FROM:<>").verb, Verb::mail);
  EXPECT_EQ(split_command("rcpt to:<a@b>").verb, Verb::rcpt);
  EXPECT_EQ(split_command("Data").verb, Verb::data);
  EXPECT_EQ(split_command("lhlo x").verb, Verb::lhlo);
  EXPECT_EQ(split_command("helo x").verb, Verb::helo);
  EXPECT_EQ(split_command("EHLO x").verb, Verb::ehlo);
  EXPECT_EQ(split_command("rset").verb, Verb::rset);
  EXPECT_EQ(split_command("noop").verb, Verb::noop);
  EXPECT_EQ(split_command("quit").verb, Verb::quit);
  EXPECT_EQ(split_command("VRFY bob").verb, Verb::vrfy);
  EXPECT_EQ(split_command("HELP").verb, Verb::help);
}

TEST(SplitCommand, UnknownAndEmpty) {
  EXPECT_EQ(split_command("").verb, Verb::empty);
  EXPECT_EQ(split_command("   ").verb, Verb::empty);
  EXPECT_EQ(split_command("MAILX").verb, Verb::unknown);
  EXPECT_EQ(split_command("MAILFROM:<>").verb, Verb::unknown);
  EXPECT_EQ(split_command("BDAT 10").verb, Verb::unknown);
  EXPECT_EQ(split_command("STARTTLS").verb, Verb::unknown);
  EXPECT_EQ(split_command("MAI").verb, Verb::unknown);
  EXPECT_EQ(split_command(" MAIL FROM:<>").verb, Verb::unknown);
  EXPECT_EQ(split_command("M@IL").verb, Verb::unknown);   // '@' | 0x20 is '`', not 'a'
  EXPECT_EQ(split_command("m\x01il").verb, Verb::unknown);
  EXPECT_EQ(split_command("NOOP\r").verb, Verb::unknown);  // a stray CR is part of the line
}

TEST(SplitCommand, ArgumentIsTrimmed) {
  EXPECT_EQ(split_command("LHLO   client.example  ").arg, "client.example");
  EXPECT_EQ(split_command("DATA ").arg, "");
  EXPECT_EQ(split_command("QUIT\t").arg, "");
  EXPECT_EQ(split_command("DATA x").arg, "x");
}

TEST(ParsePath, PlainNullAndRouted) {
  std::string_view s = "<a@b.example> rest";
  std::string_view m;
  ASSERT_TRUE(parse_path(s, m));
  EXPECT_EQ(m, "a@b.example");
  EXPECT_EQ(s, " rest");

  s = "<>";
  ASSERT_TRUE(parse_path(s, m));
  EXPECT_EQ(m, "");

  s = "<@relay1.example,@relay2.example:user@d.example>";
  ASSERT_TRUE(parse_path(s, m));
  EXPECT_EQ(m, "user@d.example");

  s = "<@relay.example:user@d.example>";
  ASSERT_TRUE(parse_path(s, m));
  EXPECT_EQ(m, "user@d.example");
}

TEST(ParsePath, QuotedLocalPart) {
  std::string_view s = "<\"john doe>x\"@d.example>";
  std::string_view m;
  ASSERT_TRUE(parse_path(s, m));
  EXPECT_EQ(m, "\"john doe>x\"@d.example");
  s = "<\"a\\\"b\"@d>";
  ASSERT_TRUE(parse_path(s, m));
  EXPECT_EQ(m, "\"a\\\"b\"@d");
}

TEST(ParsePath, Rejects) {
  std::string_view m;
  for (std::string_view bad : {"a@b", "<a@b", "<a b@c>", "<a<b@c>", "<a\rb@c>", "<a\x01@c>",
                               "<@relay:>", "<@relay>", "<@,@x:a@b>", "<@:a@b>", "<\"open@x>", ""}) {
    std::string_view s = bad;
    EXPECT_FALSE(parse_path(s, m)) << bad;
  }
}

// The vector check of long paths must refuse what the byte loop refuses,
// wherever the bad byte sits in a 16-byte block.
TEST(ParsePath, BadByteAtEveryPositionOfLongPaths) {
  std::string_view m;
  for (size_t len = 1; len <= 40; ++len) {
    for (size_t at = 0; at < len; ++at) {
      for (char bad : {' ', '\x01', '\x7f', '<', '\r', '\0'}) {
        std::string path(len, 'a');
        path[at] = bad;
        const std::string text = "<" + path + "@d.example>";
        std::string_view s = text;
        EXPECT_FALSE(parse_path(s, m)) << len << " " << at << " " << int(bad);
      }
      std::string ok(len, 'b');
      ok[at] = (at % 2) ? ':' : '\xc3';  // colons and UTF-8 bytes are fine
      const std::string text = "<" + ok + "@d.example> SIZE=1";
      std::string_view s = text;
      ASSERT_TRUE(parse_path(s, m)) << len << " " << at;
      EXPECT_EQ(m, ok + "@d.example");
      EXPECT_EQ(s, " SIZE=1");
    }
  }
}

TEST(ParseMail, Forms) {
  MailArgs a;
  EXPECT_EQ(parse_mail("FROM:<alice@example.com>", a), ParseError::none);
  EXPECT_EQ(a.path, "alice@example.com");
  EXPECT_EQ(parse_mail("from: <alice@example.com>", a), ParseError::none);
  EXPECT_EQ(a.path, "alice@example.com");
  EXPECT_EQ(parse_mail("FROM:<>", a), ParseError::none);
  EXPECT_EQ(a.path, "");
  EXPECT_FALSE(a.has_size);
  EXPECT_EQ(a.body, BodyType::unspecified);
  EXPECT_FALSE(a.smtputf8);
}

TEST(ParseMail, Parameters) {
  MailArgs a;
  ASSERT_EQ(parse_mail("FROM:<a@b> SIZE=1234 BODY=8BITMIME SMTPUTF8", a), ParseError::none);
  EXPECT_TRUE(a.has_size);
  EXPECT_EQ(a.size, 1234u);
  EXPECT_EQ(a.body, BodyType::eight_bit_mime);
  EXPECT_TRUE(a.smtputf8);
  ASSERT_EQ(parse_mail("FROM:<a@b>  size=0   body=7bit  ", a), ParseError::none);
  EXPECT_EQ(a.size, 0u);
  EXPECT_EQ(a.body, BodyType::seven_bit);
  ASSERT_EQ(parse_mail("FROM:<a@b> SIZE=99999999999999999999999999", a), ParseError::none);
  EXPECT_EQ(a.size, std::numeric_limits<uint64_t>::max());
  ASSERT_EQ(parse_mail("FROM:<a@b> SIZE=18446744073709551616", a), ParseError::none);
  EXPECT_EQ(a.size, std::numeric_limits<uint64_t>::max());
  ASSERT_EQ(parse_mail("FROM:<a@b> SIZE=18446744073709551615", a), ParseError::none);
  EXPECT_EQ(a.size, std::numeric_limits<uint64_t>::max());
}

TEST(ParseMail, Errors) {
  MailArgs a;
  EXPECT_EQ(parse_mail("", a), ParseError::syntax);
  EXPECT_EQ(parse_mail("FROM:", a), ParseError::syntax);
  EXPECT_EQ(parse_mail("FROM:a@b", a), ParseError::syntax);
  EXPECT_EQ(parse_mail("TO:<a@b>", a), ParseError::syntax);
  EXPECT_EQ(parse_mail("FROM:<a@b>junk", a), ParseError::syntax);
  EXPECT_EQ(parse_mail("FROM:<a@b> =x", a), ParseError::syntax);
  EXPECT_EQ(parse_mail("FROM:<a@b> SIZE=", a), ParseError::syntax);
  EXPECT_EQ(parse_mail("FROM:<a@b> SI_ZE=1", a), ParseError::syntax);
  EXPECT_EQ(parse_mail("FROM:<a@b> SIZE", a), ParseError::bad_value);
  EXPECT_EQ(parse_mail("FROM:<a@b> SIZE=12k", a), ParseError::bad_value);
  EXPECT_EQ(parse_mail("FROM:<a@b> SIZE=-1", a), ParseError::bad_value);
  EXPECT_EQ(parse_mail("FROM:<a@b> BODY=BINARYMIME", a), ParseError::bad_value);
  EXPECT_EQ(parse_mail("FROM:<a@b> BODY", a), ParseError::bad_value);
  EXPECT_EQ(parse_mail("FROM:<a@b> SMTPUTF8=yes", a), ParseError::bad_value);
  EXPECT_EQ(parse_mail("FROM:<a@b> RET=FULL", a), ParseError::unknown_parameter);
  EXPECT_EQ(parse_mail("FROM:<a@b> AUTH=<>", a), ParseError::unknown_parameter);
  EXPECT_EQ(parse_mail("FROM:<a@b> X-FOO", a), ParseError::unknown_parameter);
}

TEST(ParseRcpt, Forms) {
  RcptArgs r;
  EXPECT_EQ(parse_rcpt("TO:<dev@lists.example.org>", r), ParseError::none);
  EXPECT_EQ(r.path, "dev@lists.example.org");
  EXPECT_EQ(parse_rcpt("to: <dev@lists.example.org>", r), ParseError::none);
  EXPECT_EQ(r.path, "dev@lists.example.org");
  EXPECT_EQ(parse_rcpt("To:<@hop.example:dev@lists.example.org>  ", r), ParseError::none);
  EXPECT_EQ(r.path, "dev@lists.example.org");
}

TEST(ParseRcpt, Errors) {
  RcptArgs r;
  EXPECT_EQ(parse_rcpt("TO:<>", r), ParseError::syntax);
  EXPECT_EQ(parse_rcpt("TO:dev@lists.example.org", r), ParseError::syntax);
  EXPECT_EQ(parse_rcpt("FROM:<a@b>", r), ParseError::syntax);
  EXPECT_EQ(parse_rcpt("TO <a@b>", r), ParseError::syntax);
  EXPECT_EQ(parse_rcpt("TO:<a@b>x", r), ParseError::syntax);
  EXPECT_EQ(parse_rcpt("TO:<a@b> NOTIFY=NEVER", r), ParseError::unknown_parameter);
  EXPECT_EQ(parse_rcpt("TO:<a@b> ORCPT=rfc822;a@b", r), ParseError::unknown_parameter);
}

}  // namespace
}  // namespace listgate::lmtp

// smtp_reply_test.cc - the upstream reply parser, whole and in every split.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "listgate/delivery/smtp_reply.h"

namespace listgate::delivery {
namespace {

struct Parsed {
  std::vector<Reply> replies;
  std::vector<std::vector<std::string>> lines;
  bool error = false;
  std::string why;
};

// Feeds `bytes` in chunks of `chunk` bytes (0 = whole) and collects everything.
Parsed parse(std::string_view bytes, size_t chunk = 0) {
  Parsed p;
  ReplyParser parser;
  while (!bytes.empty()) {
    const size_t n = chunk == 0 ? bytes.size() : std::min(chunk, bytes.size());
    std::string_view in = bytes.substr(0, n);
    bytes.remove_prefix(n);
    while (!in.empty()) {
      const ReplyParser::Status s = parser.feed(in);
      if (s == ReplyParser::Status::error) {
        p.error = true;
        p.why = parser.error();
        return p;
      }
      if (s == ReplyParser::Status::reply) {
        p.replies.push_back(parser.take());
        p.lines.push_back(parser.lines());
      }
    }
  }
  return p;
}

TEST(ReplyParser, SingleLineWithEnhancedCode) {
  const Parsed p = parse("250 2.1.5 Ok\r\n");
  ASSERT_FALSE(p.error);
  ASSERT_EQ(p.replies.size(), 1u);
  EXPECT_EQ(p.replies[0].code, 250);
  EXPECT_EQ(p.replies[0].enhanced, "2.1.5");
  EXPECT_EQ(p.replies[0].text, "Ok");
  EXPECT_EQ(p.replies[0].line(), "250 2.1.5 Ok");
}

TEST(ReplyParser, WithoutEnhancedCodeOrText) {
  Parsed p = parse("354 End data with <CR><LF>.<CR><LF>\r\n250\r\n");
  ASSERT_FALSE(p.error);
  ASSERT_EQ(p.replies.size(), 2u);
  EXPECT_EQ(p.replies[0].code, 354);
  EXPECT_EQ(p.replies[0].enhanced, "");
  EXPECT_EQ(p.replies[0].text, "End data with <CR><LF>.<CR><LF>");
  EXPECT_EQ(p.replies[1].code, 250);
  EXPECT_EQ(p.replies[1].text, "");
  EXPECT_EQ(p.replies[1].line(), "250");
}

TEST(ReplyParser, MultiLineIsOneReplyWithJoinedText) {
  const std::string bytes =
      "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
      "550-5.1.1 Please try double-checking the recipient's email\r\n"
      "550 5.1.1 address for typos.\r\n";
  for (size_t chunk : {0, 1, 2, 3, 5, 7, 64}) {
    const Parsed p = parse(bytes, chunk);
    ASSERT_FALSE(p.error) << chunk;
    ASSERT_EQ(p.replies.size(), 1u) << chunk;
    EXPECT_EQ(p.replies[0].code, 550);
    EXPECT_EQ(p.replies[0].enhanced, "5.1.1");
    EXPECT_EQ(p.replies[0].text,
              "The email account that you tried to reach does not exist. Please try double-checking the "
              "recipient's email address for typos.");
    ASSERT_EQ(p.lines[0].size(), 3u);
    EXPECT_EQ(p.lines[0][2], "5.1.1 address for typos.");
  }
}

TEST(ReplyParser, EhloLinesKeptRaw) {
  const Parsed p = parse("250-mx.example.org Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
  ASSERT_EQ(p.replies.size(), 1u);
  EXPECT_EQ(p.lines[0], (std::vector<std::string>{"mx.example.org Hello", "PIPELINING", "SIZE 1000"}));
}

TEST(ReplyParser, BareLfEndsALineToo) {
  const Parsed p = parse("250-a\n250 b\n");
  ASSERT_FALSE(p.error);
  ASSERT_EQ(p.replies.size(), 1u);
  EXPECT_EQ(p.replies[0].text, "a b");
}

TEST(ReplyParser, ControlBytesInTextBecomeSpaces) {
  const Parsed p = parse(std::string("250 a\rb\x01" "c\x7f\r\n"));
  ASSERT_FALSE(p.error);
  EXPECT_EQ(p.replies[0].text, "a b c ");
}

TEST(ReplyParser, EnhancedCodeOfAnotherClassIsText) {
  const Parsed p = parse("550 2.0.0 odd\r\n450 4.7.1000 too long\r\n250 2.0.0x no space\r\n");
  ASSERT_EQ(p.replies.size(), 3u);
  EXPECT_EQ(p.replies[0].enhanced, "");
  EXPECT_EQ(p.replies[0].text, "2.0.0 odd");
  EXPECT_EQ(p.replies[1].enhanced, "");
  EXPECT_EQ(p.replies[2].enhanced, "");
}

TEST(ReplyParser, ManyRepliesInOneFeedStopAfterEach) {
  ReplyParser parser;
  std::string_view in = "250 a\r\n251 b\r\n252 c\r\n";
  EXPECT_EQ(parser.feed(in), ReplyParser::Status::reply);
  EXPECT_EQ(parser.take().code, 250);
  EXPECT_EQ(in, "251 b\r\n252 c\r\n");
  EXPECT_EQ(parser.feed(in), ReplyParser::Status::reply);
  EXPECT_EQ(parser.take().code, 251);
  EXPECT_EQ(parser.feed(in), ReplyParser::Status::reply);
  EXPECT_EQ(parser.take().code, 252);
  EXPECT_TRUE(in.empty());
}

TEST(ReplyParser, PartialLineNeedsMore) {
  ReplyParser parser;
  std::string_view in = "250 2.0.0 O";
  EXPECT_EQ(parser.feed(in), ReplyParser::Status::need_more);
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(parser.pending(), 11u);
  in = "k\r";
  EXPECT_EQ(parser.feed(in), ReplyParser::Status::need_more);
  in = "\n";
  EXPECT_EQ(parser.feed(in), ReplyParser::Status::reply);
  EXPECT_EQ(parser.take().text, "Ok");
}

TEST(ReplyParser, GarbageIsAnError) {
  for (const char* bad : {"hello\r\n", "25\r\n", "2500 x\r\n", "250x\r\n", "650 x\r\n", "150 x\r\n", "260 x\r\n",
                          "2a0 x\r\n", "\r\n", "250_x\r\n"}) {
    const Parsed p = parse(bad);
    EXPECT_TRUE(p.error) << bad;
    EXPECT_TRUE(p.replies.empty()) << bad;
  }
}

TEST(ReplyParser, MixedCodesAcrossLinesAreAnError) {
  const Parsed p = parse("250-a\r\n251 b\r\n");
  EXPECT_TRUE(p.error);
  EXPECT_EQ(p.why, "reply code changes inside a multi-line reply");
}

TEST(ReplyParser, OverlongLineIsAnErrorEvenUnfinished) {
  const std::string ok = "250 " + std::string(kMaxReplyLine - 4, 'x') + "\r\n";
  EXPECT_FALSE(parse(ok).error);
  EXPECT_FALSE(parse(ok, 100).error);
  const std::string bad = "250 " + std::string(kMaxReplyLine - 3, 'x') + "\r\n";
  EXPECT_TRUE(parse(bad).error);
  EXPECT_TRUE(parse(bad, 100).error);
  // No LF ever: the parser gives up without waiting for one.
  const std::string endless = "250 " + std::string(2 * kMaxReplyLine, 'x');
  const Parsed p = parse(endless, 512);
  EXPECT_TRUE(p.error);
  EXPECT_EQ(p.why, "reply line too long");
}

TEST(ReplyParser, TooManyLinesIsAnError) {
  std::string bytes;
  for (size_t i = 0; i < kMaxReplyLines; ++i) bytes += "250-x\r\n";
  EXPECT_TRUE(parse(bytes + "250 x\r\n").error);
  bytes.resize(bytes.size() - 7);
  EXPECT_FALSE(parse(bytes + "250 x\r\n").error);
}

TEST(ReplyParser, ErrorIsSticky) {
  ReplyParser parser;
  std::string_view in = "xyz\r\n";
  EXPECT_EQ(parser.feed(in), ReplyParser::Status::error);
  in = "250 ok\r\n";
  EXPECT_EQ(parser.feed(in), ReplyParser::Status::error);
}

TEST(EnhancedCode, Prefix) {
  EXPECT_EQ(enhanced_code_prefix("5.1.1 no", 5), "5.1.1");
  EXPECT_EQ(enhanced_code_prefix("4.7.0", 4), "4.7.0");
  EXPECT_EQ(enhanced_code_prefix("2.123.456 x", 2), "2.123.456");
  EXPECT_EQ(enhanced_code_prefix("2.1234.4 x", 2), "");
  EXPECT_EQ(enhanced_code_prefix("2.1. x", 2), "");
  EXPECT_EQ(enhanced_code_prefix("2..1 x", 2), "");
  EXPECT_EQ(enhanced_code_prefix("5.1.1 no", 4), "");
  EXPECT_EQ(enhanced_code_prefix("5.1.1x", 5), "");
}

}  // namespace
}  // namespace listgate::delivery

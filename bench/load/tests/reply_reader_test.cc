// reply_reader_test.cc - reply lines out of bytes split anywhere.
#include "reply_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace listgate::loadbench {
namespace {

struct Seen {
  uint16_t code;
  bool last;
  std::string text;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> feed_in_pieces(std::string_view bytes, size_t piece) {
  ReplyReader reader;
  std::vector<Seen> seen;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    reader.feed(bytes.substr(at, piece), [&](const ReplyLine& l) {
      seen.push_back({l.code, l.last, std::string(l.text)});
      return true;
    });
  }
  return seen;
}

TEST(ReplyReader, ParseLine) {
  EXPECT_EQ(ReplyReader::parse_line("250 2.1.0 Ok\r").code, 250);
  EXPECT_TRUE(ReplyReader::parse_line("250 2.1.0 Ok").last);
  EXPECT_FALSE(ReplyReader::parse_line("250-PIPELINING").last);
  EXPECT_EQ(ReplyReader::parse_line("354").code, 354);
  EXPECT_TRUE(ReplyReader::parse_line("354").last);
  EXPECT_EQ(ReplyReader::parse_line("550 5.1.1 no").text, "550 5.1.1 no");
  EXPECT_EQ(ReplyReader::parse_line("").code, 0);
  EXPECT_EQ(ReplyReader::parse_line("25").code, 0);
  EXPECT_EQ(ReplyReader::parse_line("2x0 ok").code, 0);
  EXPECT_EQ(ReplyReader::parse_line("250x ok").code, 0);
  EXPECT_EQ(ReplyReader::parse_line("650 ok").code, 0);
  EXPECT_EQ(ReplyReader::parse_line("050 ok").code, 0);
  EXPECT_EQ(ReplyReader::parse_line("hello").code, 0);
}

TEST(ReplyReader, SameLinesWhateverTheSplit) {
  const std::string stream =
      "220 host LMTP ready\r\n250-host\r\n250-PIPELINING\r\n250 SIZE 1000\r\n250 2.1.0 Ok\r\n550 5.1.1 Unknown\r\n"
      "354 go ahead\r\n250 2.0.0 delivered\n";
  const std::vector<Seen> want{{220, true, "220 host LMTP ready"}, {250, false, "250-host"},
                               {250, false, "250-PIPELINING"},     {250, true, "250 SIZE 1000"},
                               {250, true, "250 2.1.0 Ok"},        {550, true, "550 5.1.1 Unknown"},
                               {354, true, "354 go ahead"},        {250, true, "250 2.0.0 delivered"}};
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    EXPECT_EQ(feed_in_pieces(stream, piece), want) << "pieces of " << piece;
  }
}

TEST(ReplyReader, UnfinishedLineWaits) {
  ReplyReader reader;
  int lines = 0;
  reader.feed("250 2.1.0 O", [&](const ReplyLine&) { return ++lines, true; });
  EXPECT_EQ(lines, 0);
  EXPECT_TRUE(reader.mid_line());
  reader.feed("k\r", [&](const ReplyLine&) { return ++lines, true; });
  EXPECT_EQ(lines, 0);
  reader.feed("\n", [&](const ReplyLine& l) {
    EXPECT_EQ(l.text, "250 2.1.0 Ok");
    return ++lines, true;
  });
  EXPECT_EQ(lines, 1);
  EXPECT_FALSE(reader.mid_line());
}

TEST(ReplyReader, LongLineIsCutButCounted) {
  std::string line = "250 " + std::string(10000, 'x') + "\r\n";
  auto seen = feed_in_pieces(line, 100);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].code, 250);
  EXPECT_EQ(seen[0].text.size(), ReplyReader::kMaxKeptLine);
}

TEST(ReplyReader, StopDropsTheRest) {
  ReplyReader reader;
  int lines = 0;
  const bool finished = reader.feed("250 a\r\n250 b\r\n250 c\r\n", [&](const ReplyLine&) { return ++lines < 2; });
  EXPECT_FALSE(finished);
  EXPECT_EQ(lines, 2);
}

}  // namespace
}  // namespace listgate::loadbench

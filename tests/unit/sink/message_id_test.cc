// message_id_test.cc - header block collection and Message-ID parsing.
#include "message_id.h"

#include <gtest/gtest.h>

namespace listgate::sink {
namespace {

std::string id_of(std::string_view block) {
  std::string out;
  find_message_id(block, out);
  return out;
}

TEST(SinkMessageId, Parses) {
  EXPECT_EQ(id_of("Message-ID: <a@b>\r\n"), "<a@b>");
  EXPECT_EQ(id_of("Subject: x\r\nmessage-id:<a@b>  \r\nTo: y\r\n"), "<a@b>");
  EXPECT_EQ(id_of("MESSAGE-ID:\r\n\t<folded@b>\r\nTo: y\r\n"), "<folded@b>");
  EXPECT_EQ(id_of("Message-ID: <a\r\n @b>\r\n"), "<a@b>");
  EXPECT_EQ(id_of("Message-ID: <first@b>\r\nMessage-ID: <second@b>\r\n"), "<first@b>");
  EXPECT_EQ(id_of("X-Message-ID: <a@b>\r\n"), "");
  EXPECT_EQ(id_of("Subject: x\r\n"), "");
  EXPECT_EQ(id_of("Message-ID: <incomplete"), "");  // not a complete line
  EXPECT_EQ(id_of("Message-ID:\r\n"), "");
}

TEST(SinkMessageId, CollectorStopsAtTheEmptyLine) {
  HeaderCollector h;
  h.add("Subject: x\r\nMessage-ID: <a@b>\r");
  EXPECT_FALSE(h.done());
  h.add("\n\r");
  EXPECT_FALSE(h.done());
  h.add("\nbody body body\r\n");
  EXPECT_TRUE(h.done());
  EXPECT_EQ(h.block(), "Subject: x\r\nMessage-ID: <a@b>\r\n");
  h.add("More: headers\r\n");
  EXPECT_EQ(h.block(), "Subject: x\r\nMessage-ID: <a@b>\r\n");
}

TEST(SinkMessageId, BodyStartingWithEmptyLineHasNoHeaders) {
  HeaderCollector h;
  h.add("\r");
  EXPECT_FALSE(h.done());
  h.add("\nMessage-ID: <x@y>\r\n");
  EXPECT_TRUE(h.done());
  EXPECT_EQ(h.block(), "");
}

TEST(SinkMessageId, CollectorIsCapped) {
  HeaderCollector h;
  const std::string line = "X-Long: " + std::string(1000, 'a') + "\r\n";
  for (int i = 0; i < 100; ++i) h.add(line);
  EXPECT_TRUE(h.done());
  EXPECT_EQ(h.block().size(), kMaxHeaderBytes);
}

}  // namespace
}  // namespace listgate::sink

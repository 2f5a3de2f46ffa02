// message_text_test.cc - generated messages have exactly the asked size.
#include "message_text.h"

#include <gtest/gtest.h>

#include "size_distribution.h"

namespace listgate::loadbench {
namespace {

void expect_well_formed(const std::string& m, uint64_t size) {
  ASSERT_EQ(m.size(), size);
  EXPECT_EQ(m.substr(m.size() - 2), "\r\n");
  EXPECT_NE(m.find("\r\nMessage-ID: <bench-"), std::string::npos);
  EXPECT_NE(m.find("\r\n\r\n"), std::string::npos);
  for (size_t at = 0; at < m.size(); at = m.find('\n', at) + 1) {
    EXPECT_NE(m[at], '.') << "a line starts with a dot at " << at;
    const size_t nl = m.find('\n', at);
    ASSERT_NE(nl, std::string::npos);
    ASSERT_GT(nl, 0u);
    EXPECT_EQ(m[nl - 1], '\r') << "bare LF at " << nl;
    if (nl + 1 == m.size()) break;
  }
}

TEST(MessageText, EverySizeIsExact) {
  for (uint64_t size = kMinMessageSize; size < kMinMessageSize + 400; ++size) expect_well_formed(make_message(size, 3), size);
  for (uint64_t size : {uint64_t{4096}, uint64_t{65536}, uint64_t{1} << 20, kMaxMessageSize}) {
    expect_well_formed(make_message(size, 63), size);
  }
}

TEST(MessageText, Commands) {
  EXPECT_EQ(mail_command("b@x.org", 4096), "MAIL FROM:<b@x.org> SIZE=4096\r\n");
  EXPECT_EQ(rcpt_command("dev@lists.example.org"), "RCPT TO:<dev@lists.example.org>\r\n");
  EXPECT_EQ(lhlo_command(), "LHLO listgate-bench.example\r\n");
  EXPECT_EQ(quit_command(), "QUIT\r\n");
  EXPECT_EQ(rset_command(), "RSET\r\n");
}

}  // namespace
}  // namespace listgate::loadbench

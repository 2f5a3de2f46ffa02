// smtp_commands_test.cc - the address check the client runs on every
// recipient (smtp_commands.h): the word- and vector-at-a-time check must say
// exactly what a byte-by-byte reading says, at every length and position.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

#include "smtp_commands.h"

namespace listgate::delivery::commands {
namespace {

// The rule, one byte at a time.
PathCheck reference(std::string_view a) {
  PathCheck r;
  r.valid = a.size() <= kMaxPathLength;
  for (char c : a) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '<' || c == '>') r.valid = false;
    if (u >= 0x80) r.non_ascii = true;
  }
  return r;
}

void expect_same(const std::string& a) {
  const PathCheck got = check_path(a);
  const PathCheck want = reference(a);
  EXPECT_EQ(got.valid, want.valid) << "length " << a.size();
  EXPECT_EQ(got.non_ascii, want.non_ascii) << "length " << a.size();
}

TEST(CheckPath, PlainAddresses) {
  EXPECT_TRUE(check_path("").valid);  // the null path
  EXPECT_TRUE(check_path("a@b").valid);
  EXPECT_TRUE(check_path("member-0000001@d001.example.com").valid);
  EXPECT_FALSE(check_path("member-0000001@d001.example.com").non_ascii);
  EXPECT_TRUE(check_path("jörg@example.com").non_ascii);
  EXPECT_TRUE(check_path("jörg@example.com").valid);
}

TEST(CheckPath, RefusesControlBytesBracketsAndLength) {
  EXPECT_FALSE(check_path("a@example.com\r\nRSET").valid);
  EXPECT_FALSE(check_path("<x>").valid);
  EXPECT_FALSE(check_path("x>").valid);
  EXPECT_FALSE(check_path(std::string("a\0b", 3)).valid);
  EXPECT_FALSE(check_path("a\x7f" "b").valid);
  EXPECT_TRUE(check_path("a=b+c@d").valid);  // '=' (0x3d) and '?' (0x3f) are not brackets
  EXPECT_TRUE(check_path("a?b@d").valid);
  EXPECT_TRUE(check_path(std::string(kMaxPathLength, 'a')).valid);
  EXPECT_FALSE(check_path(std::string(kMaxPathLength + 1, 'a')).valid);
}

// One odd byte at every position of every length up to past two vectors.
TEST(CheckPath, EveryPositionOfEveryLength) {
  const unsigned char odd[] = {0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
                               0x7e, 0x7f, 0x80, 0xc3, 0xff};
  for (size_t n = 1; n <= 40; ++n) {
    for (size_t at = 0; at < n; ++at) {
      for (unsigned char b : odd) {
        std::string a(n, 'm');
        a[at] = static_cast<char>(b);
        expect_same(a);
      }
    }
  }
}

TEST(CheckPath, RandomBytes) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    std::string a(rng() % 300, 'x');
    const bool sparse = rng() % 2 == 0;  // mostly printable, or anything
    for (char& c : a) c = static_cast<char>(sparse ? 'a' + rng() % 26 : rng() % 256);
    if (sparse && !a.empty()) a[rng() % a.size()] = static_cast<char>(rng() % 256);
    expect_same(a);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace listgate::delivery::commands

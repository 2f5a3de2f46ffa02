// body_scanner_test.cc - the end-of-body search against a naive reference.
#include "body_scanner.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "unstuffer.h"

namespace listgate::sink {
namespace {

struct Expect {
  size_t end = std::string::npos;  // offset just past the terminator, npos if none
  uint64_t dots = 0;
};

// The whole body at once, one byte at a time, with "\r\n" before it.
Expect reference(const std::string& body) {
  const std::string s = "\r\n" + body;
  Expect e;
  for (size_t i = 0; i + 3 <= s.size(); ++i) {
    if (s.compare(i, 3, "\r\n.") != 0) continue;
    ++e.dots;
    if (s.compare(i, 5, "\r\n.\r\n") == 0) {
      e.end = i + 5 - 2;
      return e;
    }
  }
  return e;
}

Expect scan_in_pieces(const std::string& body, const std::vector<size_t>& cuts) {
  BodyScanner scanner;
  Expect e;
  size_t pos = 0;
  std::vector<size_t> all = cuts;
  all.push_back(body.size());
  for (size_t cut : all) {
    if (cut < pos) continue;
    const std::string piece = body.substr(pos, cut - pos);
    const BodyScanner::Step step = scanner.scan(piece);
    e.dots += step.dots;
    if (step.end) {
      e.end = pos + step.consumed;
      return e;
    }
    EXPECT_EQ(step.consumed, piece.size());
    pos = cut;
  }
  return e;
}

std::string random_body(std::mt19937& gen, size_t n) {
  // Few symbols so CR, LF and '.' meet often.
  static const char kSymbols[] = {'\r', '\n', '.', 'a', '\r', '\n', '.'};
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kSymbols[std::uniform_int_distribution<int>(0, 6)(gen)]);
  return s;
}

TEST(SinkBodyScanner, EmptyBodyEndsAtOnce) {
  BodyScanner s;
  auto step = s.scan(".\r\nMAIL");
  EXPECT_TRUE(step.end);
  EXPECT_EQ(step.consumed, 3u);
  EXPECT_EQ(step.dots, 1u);
}

TEST(SinkBodyScanner, BareNewlinesDoNotEnd) {
  EXPECT_EQ(reference("a\n.\nb\r.\r\n").end, std::string::npos);
  BodyScanner s;
  EXPECT_FALSE(s.scan("a\n.\nb\r.\r\nc\r\n.\n").end);
  EXPECT_TRUE(s.scan("\r\n.\r\n").end);
}

TEST(SinkBodyScanner, TerminatorSplitAtEveryPosition) {
  const std::string body = std::string(100, 'x') + "\r\n..y\r\n.\r\nrest";
  const Expect want = reference(body);
  ASSERT_EQ(want.end, body.size() - 4);
  ASSERT_EQ(want.dots, 2u);
  for (size_t a = 1; a < body.size(); ++a) {
    for (size_t b : {a, a + 1, a + 2, a + 3}) {
      const Expect got = scan_in_pieces(body, {a, b});
      ASSERT_EQ(got.end, want.end) << a << " " << b;
      ASSERT_EQ(got.dots, want.dots) << a << " " << b;
    }
  }
}

TEST(SinkBodyScanner, RandomBodiesAndSplitsMatchTheReference) {
  std::mt19937 gen(1234);
  for (int round = 0; round < 20000; ++round) {
    const size_t n = std::uniform_int_distribution<size_t>(0, round % 10 == 0 ? 400 : 60)(gen);
    const std::string body = random_body(gen, n);
    const Expect want = reference(body);
    std::vector<size_t> cuts;
    const int pieces = std::uniform_int_distribution<int>(0, 6)(gen);
    for (int i = 0; i < pieces && n > 0; ++i) cuts.push_back(std::uniform_int_distribution<size_t>(0, n)(gen));
    std::sort(cuts.begin(), cuts.end());
    const Expect got = scan_in_pieces(body, cuts);
    ASSERT_EQ(got.end, want.end) << "round " << round;
    ASSERT_EQ(got.dots, want.dots) << "round " << round;
  }
}

TEST(SinkBodyScanner, VectorAndScalarAgree) {
  std::mt19937 gen(99);
  for (int round = 0; round < 5000; ++round) {
    const std::string s = random_body(gen, std::uniform_int_distribution<size_t>(0, 300)(gen));
    uint64_t d1 = 0, d2 = 0;
    ASSERT_EQ(find_body_end(s.data(), s.size(), &d1), find_body_end_scalar(s.data(), s.size(), &d2));
    ASSERT_EQ(d1, d2);
  }
}

TEST(SinkBodyScanner, LongCleanBodyIsScannedWhole) {
  std::string body;
  for (int i = 0; i < 10000; ++i) body += "Lorem ipsum dolor sit amet. Consectetur adipiscing elit.\r\n";
  body += ".\r\n";
  const Expect got = scan_in_pieces(body, {16384, 32768, 49152});
  EXPECT_EQ(got.end, body.size());
  EXPECT_EQ(got.dots, 1u);
}

TEST(SinkUnstuffer, RemovesLineStartDotsAcrossPieces) {
  const std::string wire = "..a\r\nb\r\n...c\r\nd\n.e\r\n.\r\n";
  const std::string want = ".a\r\nb\r\n..c\r\nd\n.e\r\n\r\n";  // the terminator line leaves its CRLF
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    for (size_t cut2 = cut; cut2 <= wire.size(); cut2 += 3) {
      Unstuffer u;
      std::string out;
      u.append(out, wire.substr(0, cut));
      u.append(out, wire.substr(cut, cut2 - cut));
      u.append(out, wire.substr(cut2));
      ASSERT_EQ(out, want) << cut << " " << cut2;
    }
  }
}

}  // namespace
}  // namespace listgate::sink

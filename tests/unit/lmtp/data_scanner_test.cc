// data_scanner_test.cc - the end-of-DATA scan: terminator, bare CR/LF, and
// the vector path agreeing with the byte-at-a-time reference in any split.
#include "listgate/lmtp/data_scanner.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace listgate::lmtp {
namespace {

struct Outcome {
  bool end = false;
  size_t consumed = 0;  // total over all pieces
  bool bare = false;
  bool operator==(const Outcome&) const = default;
};

using ScanFn = DataScanResult (*)(std::string_view, DataScanState&);

// Scans `body` in pieces of the given sizes (cycled), stopping at the end.
Outcome scan_in_pieces(std::string_view body, const std::vector<size_t>& sizes, ScanFn fn = scan_data) {
  DataScanState st;
  Outcome o;
  size_t k = 0;
  while (!body.empty()) {
    const size_t n = std::min(body.size(), sizes[k++ % sizes.size()]);
    const DataScanResult r = fn(body.substr(0, n), st);
    o.consumed += r.consumed;
    if (r.end) {
      o.end = true;
      break;
    }
    EXPECT_EQ(r.consumed, n);
    body.remove_prefix(n);
  }
  o.bare = st.bare_newline;
  return o;
}

Outcome scan_whole(std::string_view body, ScanFn fn = scan_data) {
  return scan_in_pieces(body, {body.size() + 1}, fn);
}

TEST(DataScanner, EmptyBodyIsALoneDot) {
  const Outcome o = scan_whole(".\r\nMAIL FROM:<>\r\n");
  EXPECT_TRUE(o.end);
  EXPECT_EQ(o.consumed, 3u);
  EXPECT_FALSE(o.bare);
}

TEST(DataScanner, FindsCrLfDotCrLf) {
  const std::string body = "Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n";
  const Outcome o = scan_whole(body);
  EXPECT_TRUE(o.end);
  EXPECT_EQ(o.consumed, body.find("QUIT"));
  EXPECT_FALSE(o.bare);
}

TEST(DataScanner, DotStuffedLinesDoNotEnd) {
  const Outcome o = scan_whole("a\r\n..\r\n.x\r\n");
  EXPECT_FALSE(o.end);
  EXPECT_FALSE(o.bare);
}

TEST(DataScanner, BareLfDotLfDoesNotEnd) {
  const Outcome o = scan_whole("a\n.\nb\r\n");
  EXPECT_FALSE(o.end);
  EXPECT_TRUE(o.bare);
}

TEST(DataScanner, BareCrDotCrDoesNotEnd) {
  const Outcome o = scan_whole("a\r.\rb\r\n");
  EXPECT_FALSE(o.end);
  EXPECT_TRUE(o.bare);
}

TEST(DataScanner, MixedSmugglingFormsDoNotEnd) {
  for (const char* s : {"a\r\n.\n", "a\n.\r\n", "a\r\n.\r\r\n", "a\r\n. \r\n", "a\r\n\r.\r\n"}) {
    EXPECT_FALSE(scan_whole(s).end) << s;
    EXPECT_FALSE(scan_whole(s, scan_data_scalar).end) << s;
  }
}

TEST(DataScanner, BareCrBeforeRealEndIsFlaggedAndEnds) {
  const Outcome o = scan_whole("a\r\r\n.\r\n");
  EXPECT_TRUE(o.end);
  EXPECT_TRUE(o.bare);
}

TEST(DataScanner, BareNewlinesAfterTheEndAreNotCounted) {
  const Outcome o = scan_whole("ok\r\n.\r\nbad\nline\r");
  EXPECT_TRUE(o.end);
  EXPECT_FALSE(o.bare);
}

TEST(DataScanner, BareCrAtPieceBoundaryIsFlagged) {
  EXPECT_TRUE(scan_in_pieces("ab\rcd\r\n", {3}).bare);
  EXPECT_FALSE(scan_in_pieces("ab\r\ncd\r\n", {3}).bare);
  EXPECT_TRUE(scan_in_pieces("ab\ncd\r\n", {2}).bare);
}

TEST(DataScanner, TerminatorSplitAcrossPiecesAtEveryPoint) {
  const std::string body = std::string(200, 'x') + "\r\n.\r\n" + "tail";
  for (size_t piece = 1; piece <= 70; ++piece) {
    const Outcome o = scan_in_pieces(body, {piece});
    EXPECT_TRUE(o.end) << piece;
    EXPECT_EQ(o.consumed, 205u) << piece;
  }
}

TEST(DataScanner, TerminatorAtEveryOffsetOfAVectorBlock) {
  for (size_t pad = 0; pad < 200; ++pad) {
    const std::string body = std::string(pad, 'y') + "\r\n.\r\n" + std::string(100, 'z');
    const Outcome o = scan_whole(body);
    EXPECT_TRUE(o.end) << pad;
    EXPECT_EQ(o.consumed, pad + 5) << pad;
    EXPECT_EQ(o, scan_whole(body, scan_data_scalar)) << pad;
  }
}

TEST(DataScanner, StartOfBodyCountsAsAfterCrLfInTheVectorPath) {
  const std::string body = ".\r\n" + std::string(100, 'z');
  const Outcome o = scan_whole(body);
  EXPECT_TRUE(o.end);
  EXPECT_EQ(o.consumed, 3u);
}

// Random bodies over a small alphabet rich in CR, LF and '.': the vector
// scan in random pieces must agree with the scalar reference over the whole.
TEST(DataScanner, VectorMatchesScalarOnRandomInput) {
  std::mt19937 rng(2033);
  const char alphabet[] = {'\r', '\n', '.', 'a', '\r', '\n', '.', ' '};
  for (int round = 0; round < 3000; ++round) {
    std::uniform_int_distribution<size_t> len(0, 400);
    std::string body(len(rng), 'a');
    const bool clean = round % 3 == 0;  // CRLF-clean lines, some dot-stuffed
    if (clean) {
      body.clear();
      while (body.size() < 300) {
        std::uniform_int_distribution<int> kind(0, 4);
        const int k = kind(rng);
        body += k == 0 ? "." : (k == 1 ? ".." : "");
        body += std::string(kind(rng) * 7, 'q') + "\r\n";
      }
      body += ".\r\n";
    } else {
      for (char& c : body) c = alphabet[rng() % sizeof alphabet];
    }
    const Outcome ref = scan_whole(body, scan_data_scalar);
    std::vector<size_t> sizes;
    for (int i = 0; i < 8; ++i) sizes.push_back(1 + rng() % 150);
    EXPECT_EQ(scan_whole(body), ref) << round;
    EXPECT_EQ(scan_in_pieces(body, sizes), ref) << round;
    if (clean) {
      EXPECT_TRUE(ref.end);
      EXPECT_FALSE(ref.bare) << round;
    }
  }
}

TEST(DataScanner, LargeCleanBodyIsScannedToItsEnd) {
  std::string body;
  while (body.size() < 1 << 20) body += "The quick brown fox jumps over the lazy dog. 0123456789\r\n";
  body += ".\r\nNEXT";
  const Outcome o = scan_whole(body);
  EXPECT_TRUE(o.end);
  EXPECT_EQ(o.consumed, body.size() - 4);
  EXPECT_FALSE(o.bare);
}

}  // namespace
}  // namespace listgate::lmtp

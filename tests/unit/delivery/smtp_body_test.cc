// smtp_body_test.cc - the DATA phase: body by reference, bare CR/LF repair, stuffing.
//
// The repair is checked against a plain whole-string reference in every
// slicing (the output must not depend on where slices end), and the copy
// rules are checked exactly: clean slices are referenced, long runs of a
// repaired slice are referenced, short runs are copied and counted.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "listgate/delivery/smtp_body.h"
#include "smtp_harness.h"

namespace listgate::delivery {
namespace {

using smtp_test::chain_of;
using smtp_test::visible;

// The repair done the obvious way on the whole body (the specification).
std::string reference_message(std::string_view prefix, std::string_view body, bool repair) {
  std::string out(prefix);
  if (!repair) {
    out += body;
  } else {
    bool new_line_start = false;  // a line start the repair made
    for (size_t i = 0; i < body.size(); ++i) {
      const char c = body[i];
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
        out += "\r\n";
        ++i;
        new_line_start = false;
      } else if (c == '\r' || c == '\n') {
        out += "\r\n";
        new_line_start = true;
      } else {
        if (new_line_start && c == '.') out += '.';
        out += c;
        new_line_start = false;
      }
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += out.ends_with("\r") ? "\n" : "\r\n";
  return out + ".\r\n";
}

// Wire form as an LMTP client sends it: lines after a CRLF (and the first)
// that start with '.' get another one. Bare CR/LF are not line ends there.
std::string stuff_crlf_lines(std::string_view content) {
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < content.size(); ++i) {
    if (line_start && content[i] == '.') out += '.';
    out += content[i];
    line_start = content[i] == '\n' && i > 0 && content[i - 1] == '\r';
  }
  return out;
}

// Up to max_pieces of `pieces`, drawn at random.
std::string random_text(std::mt19937& rng, const std::vector<std::string>& pieces, size_t max_pieces) {
  std::uniform_int_distribution<size_t> len(0, max_pieces);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  std::string text;
  const size_t count = len(rng);
  for (size_t i = 0; i < count; ++i) text += pieces[pick(rng)];
  return text;
}

// Slice lengths of 1..max_cut covering `size` bytes.
std::vector<size_t> random_cuts(std::mt19937& rng, size_t size, size_t max_cut) {
  std::vector<size_t> cuts;
  std::uniform_int_distribution<size_t> cut(1, max_cut);
  for (size_t at = 0; at < size;) {
    cuts.push_back(cut(rng));
    at += cuts.back();
  }
  return cuts;
}

struct Out {
  std::string bytes;
  size_t slice_segments = 0;
  bool references_ok = true;
  BodyStats stats;
};

Out run(std::string_view prefix, const io::SliceChain& chain, bool repair) {
  OutputQueue q;
  Out o;
  o.stats = append_message(q, wire_header_prefix(prefix), &chain, repair);
  for (const OutSegment& s : q.take()) {
    o.bytes.append(s.view());
    if (!s.is_slice) continue;
    ++o.slice_segments;
    bool inside = false;
    for (const io::Slice& b : chain) {
      inside = inside || (b.buffer.get() == s.slice.buffer.get() && s.slice.offset >= b.offset &&
                          s.slice.offset + s.slice.length <= b.offset + b.length);
    }
    o.references_ok = o.references_ok && inside;
  }
  return o;
}

class Body : public ::testing::Test {
 protected:
  io::BufferPool pool_{4096, 8};
};

TEST_F(Body, CleanBodyGoesOutByReferenceSliceForSlice) {
  const std::string body = "Subject: hi\r\n\r\n..leading dot, stuffed\r\nline\r\n";
  const io::SliceChain chain = chain_of(pool_, body, {5, 1, 20});
  ASSERT_EQ(chain.size(), 4u);
  const Out o = run("List-Id: <l.example.org>\r\n", chain, false);
  EXPECT_EQ(o.bytes, "List-Id: <l.example.org>\r\n" + body + ".\r\n");
  EXPECT_EQ(o.slice_segments, 4u);
  EXPECT_TRUE(o.references_ok);
  EXPECT_EQ(o.stats.referenced, body.size());
  EXPECT_EQ(o.stats.copied, 0u);
  EXPECT_EQ(o.stats.inserted, 0u);
}

TEST_F(Body, EmptyBodyAndEmptyPrefixIsJustTheDot) {
  const io::SliceChain chain;
  EXPECT_EQ(run("", chain, false).bytes, ".\r\n");
  EXPECT_EQ(run("", chain, true).bytes, ".\r\n");
  OutputQueue q;
  append_message(q, "", nullptr, false);
  ASSERT_EQ(q.take().front().bytes, ".\r\n");
}

TEST_F(Body, MissingFinalCrlfIsAdded) {
  const io::SliceChain chain = chain_of(pool_, "no newline at end");
  const Out o = run("", chain, false);
  EXPECT_EQ(o.bytes, "no newline at end\r\n.\r\n");
  EXPECT_EQ(o.stats.inserted, 2u);
  EXPECT_EQ(o.stats.copied, 0u);
}

TEST_F(Body, BareLfAndBareCrBecomeCrlf) {
  const io::SliceChain chain = chain_of(pool_, "a\nb\rc\r\nd\n");
  const Out o = run("", chain, true);
  EXPECT_EQ(visible(o.bytes), visible("a\r\nb\r\nc\r\nd\r\n.\r\n"));
  EXPECT_EQ(o.stats.inserted, 3u);
  EXPECT_EQ(o.stats.copied, 9u);  // one short slice with insertions: all copied
  EXPECT_EQ(o.slice_segments, 0u);
}

TEST_F(Body, LineStartsMadeByTheRepairAreStuffed) {
  // "\n.\r\n" would end DATA at a server that takes a bare LF as a line end
  // (SMTP smuggling); repaired and stuffed it is an ordinary line "..".
  const io::SliceChain chain = chain_of(pool_, "x\n.\r\ny\r.z\r\n..already stuffed\r\n");
  const Out o = run("", chain, true);
  EXPECT_EQ(visible(o.bytes), visible("x\r\n..\r\ny\r\n..z\r\n..already stuffed\r\n.\r\n"));
}

TEST_F(Body, CrAtTheEndOfASliceAndLfAtTheStartOfTheNextIsACrlf) {
  const std::string body = "abc\r\ndef\r\n";
  const io::SliceChain chain = chain_of(pool_, body, {4});  // "abc\r" | "\ndef\r\n"
  const Out o = run("", chain, true);
  EXPECT_EQ(o.bytes, body + ".\r\n");
  EXPECT_EQ(o.stats.copied, 0u);  // nothing to repair: both slices referenced
  EXPECT_EQ(o.slice_segments, 2u);
}

TEST_F(Body, BareCrAtSliceEndThenDotIsRepairedAndStuffed) {
  const io::SliceChain chain = chain_of(pool_, "abc\r.def\r\n", {4});  // "abc\r" | ".def\r\n"
  const Out o = run("", chain, true);
  EXPECT_EQ(visible(o.bytes), visible("abc\r\n..def\r\n.\r\n"));
  EXPECT_EQ(o.stats.copied, 6u);   // only the second slice is affected
  EXPECT_EQ(o.slice_segments, 1u);  // the first is still referenced
}

TEST_F(Body, BareLfAtSliceEndThenDotIsStuffed) {
  const io::SliceChain chain = chain_of(pool_, "abc\n.def\r\n", {4});  // "abc\n" | ".def\r\n"
  const Out o = run("", chain, true);
  EXPECT_EQ(visible(o.bytes), visible("abc\r\n..def\r\n.\r\n"));
}

TEST_F(Body, BodyEndingInBareCrGetsItsLf) {
  const io::SliceChain chain = chain_of(pool_, "abc\r");
  EXPECT_EQ(visible(run("", chain, true).bytes), visible("abc\r\n.\r\n"));
}

TEST_F(Body, LongRunsOfARepairedSliceStayReferenced) {
  const std::string line(kMinReferencedRun, 'x');
  // One slice: a long run, a bare LF, a short run, a bare LF, a long run, CRLF.
  const std::string body = line + "\nshort\n" + line + "\r\n";
  const io::SliceChain chain = chain_of(pool_, body);
  ASSERT_EQ(chain.size(), 1u);
  const Out o = run("", chain, true);
  EXPECT_EQ(o.bytes, line + "\r\nshort\r\n" + line + "\r\n.\r\n");
  EXPECT_EQ(o.slice_segments, 2u);
  EXPECT_TRUE(o.references_ok);
  // Runs: the first line (referenced), "\nshort" (6 bytes, copied), "\n" + the
  // second line + CRLF (long: referenced).
  EXPECT_EQ(o.stats.copied, 6u);
  EXPECT_EQ(o.stats.referenced, body.size() - 6);
  EXPECT_EQ(o.stats.inserted, 2u);
  EXPECT_EQ(o.stats.copied + o.stats.referenced, body.size());
}

TEST_F(Body, HeaderPrefixIsStuffedAndCrlfTerminated) {
  EXPECT_EQ(wire_header_prefix(""), "");
  EXPECT_EQ(wire_header_prefix("A: b\r\n"), "A: b\r\n");
  EXPECT_EQ(wire_header_prefix("A: b"), "A: b\r\n");
  EXPECT_EQ(wire_header_prefix(".A: b\nC: d\r.e\r\n"), "..A: b\r\nC: d\r\n..e\r\n");
}

TEST_F(Body, RepairMatchesTheReferenceInEverySlicing) {
  std::mt19937 rng(20240611);
  const std::vector<std::string> alphabet = {"a", "b", ".", "\r", "\n"};
  for (int round = 0; round < 2000; ++round) {
    const std::string content = random_text(rng, alphabet, 40);
    const std::string body = stuff_crlf_lines(content);
    const io::SliceChain chain = chain_of(pool_, body, random_cuts(rng, body.size(), 6));
    const Out o = run("", chain, true);
    ASSERT_EQ(visible(o.bytes), visible(reference_message("", body, true))) << "body " << visible(body);
    ASSERT_TRUE(o.references_ok);
    ASSERT_EQ(o.stats.copied + o.stats.referenced, body.size());
    // After a repair, no bare CR or LF is left, and the only "\r\n.\r\n" is the end.
    const std::string& b = o.bytes;
    for (size_t i = 0; i < b.size(); ++i) {
      if (b[i] == '\n') {
        ASSERT_TRUE(i > 0 && b[i - 1] == '\r') << visible(b);
      }
      if (b[i] == '\r') {
        ASSERT_TRUE(i + 1 < b.size() && b[i + 1] == '\n') << visible(b);
      }
    }
    const size_t end = ("\r\n" + b).find("\r\n.\r\n");
    ASSERT_EQ(end, b.size() - 3) << visible(b);
  }
}

// BDAT: the message itself. Content of CRLF lines (no bare CR/LF, as the
// client sends with BDAT), stuffed as an LMTP client would, must come back
// exactly, in every slicing, with every slice segment pointing into the
// body and nothing copied; slices of at least 17 bytes take the vector path.
TEST_F(Body, UnstuffedMessageIsTheContentInEverySlicing) {
  std::mt19937 rng(20261203);
  const std::vector<std::string> pieces = {"a", "b", ".", "..", "xxxxxxxxxxxxxxxxxxxx", "\r\n"};
  for (int round = 0; round < 2000; ++round) {
    const std::string content = random_text(rng, pieces, 30);
    const std::string body = stuff_crlf_lines(content);
    const io::SliceChain chain = chain_of(pool_, body, random_cuts(rng, body.size(), round % 2 == 0 ? 4 : 40));
    OutputQueue q;
    const BodyStats stats = append_unstuffed_message(q, "X: y\r\n", &chain);
    std::string bytes;
    for (const OutSegment& seg : q.take()) {
      bytes.append(seg.view());
      if (!seg.is_slice) continue;
      bool inside = false;
      for (const io::Slice& b : chain) {
        inside = inside || (b.buffer.get() == seg.slice.buffer.get() && seg.slice.offset >= b.offset &&
                            seg.slice.offset + seg.slice.length <= b.offset + b.length);
      }
      ASSERT_TRUE(inside);
    }
    std::string want = "X: y\r\n" + content;
    if (!content.empty() && !content.ends_with("\r\n")) want += "\r\n";
    ASSERT_EQ(visible(bytes), visible(want)) << "body " << visible(body);
    ASSERT_EQ(stats.copied, 0u);
    ASSERT_EQ(stats.referenced, content.size());
  }
}

TEST_F(Body, UnstuffedMessageOfNothingIsThePrefix) {
  OutputQueue q;
  append_unstuffed_message(q, "", nullptr);
  EXPECT_TRUE(q.empty());
  append_unstuffed_message(q, "A: b\r\n", nullptr);
  EXPECT_EQ(q.size(), 6u);
}

TEST_F(Body, ChunkHeaderPrefixIsCrlfTerminatedAndNotStuffed) {
  EXPECT_EQ(chunk_header_prefix(""), "");
  EXPECT_EQ(chunk_header_prefix(".A: b\r\n"), ".A: b\r\n");
  EXPECT_EQ(chunk_header_prefix(".A: b\nC: d\r.e"), ".A: b\r\nC: d\r\n.e\r\n");
}

}  // namespace
}  // namespace listgate::delivery

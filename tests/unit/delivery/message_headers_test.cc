// message_headers_test.cc - the header scan in place, loop detection and the list's header lines.
//
// Every scan runs over every slicing of its message (each single cut, one
// byte per slice, random cuts with empty slices between, pool-sized
// pieces): the answer must not depend on where slices end.
#include "listgate/delivery/message_headers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <regex>
#include <string>
#include <unordered_set>
#include <vector>

#include "../../../src/delivery/chain_lines.h"
#include "listgate/base/concat.h"
#include "../../support/slicings.h"

namespace listgate::delivery {
namespace {

using listgate::testing::chain_cut;
using listgate::testing::for_each_slicing;

std::string describe(const HeaderScan& s) {
  std::string d = concat({"has_message_id=", std::to_string(s.has_message_id), " message_id=[", s.message_id, "]"});
  for (const std::string& b : s.been_there) d += concat({" been_there=[", b, "]"});
  return d + concat({" header_bytes=", std::to_string(s.header_bytes), " complete=", std::to_string(s.complete)});
}

// The scan of `bytes` as one slice, after checking every other slicing agrees.
HeaderScan scan(std::string_view bytes, size_t limit = 256 * 1024) {
  io::BufferPool pool(1 << 16, /*buffers_per_block=*/1);  // one block per call, not 4 MiB
  const HeaderScan whole = scan_headers(io::copy_into_pool(pool, bytes), limit);
  for_each_slicing(bytes, [&](const io::SliceChain& chain, const std::string& how) {
    const std::string got = describe(scan_headers(chain, limit));
    if (got == describe(whole)) return true;
    ADD_FAILURE() << how << ": " << got << " instead of " << describe(whole);
    return false;
  });
  return whole;
}

// ChainLines, the walker both scanners share: every line and where it ends.
std::string walk(const io::SliceChain& chain, size_t limit) {
  detail::ChainLines lines(chain, limit);
  std::string out;
  while (const auto line = lines.next()) {
    out += concat({"[", *line, "]", std::to_string(lines.line_begin()), "-", std::to_string(lines.consumed()), " "});
  }
  return out;
}

std::string walk_every_way(std::string_view bytes, size_t limit) {
  io::BufferPool pool(1 << 16, /*buffers_per_block=*/1);  // one block per call, not 4 MiB
  const std::string whole = walk(io::copy_into_pool(pool, bytes), limit);
  for_each_slicing(bytes, [&](const io::SliceChain& chain, const std::string& how) {
    const std::string got = walk(chain, limit);
    if (got == whole) return true;
    ADD_FAILURE() << how << ": " << got << " instead of " << whole;
    return false;
  });
  return whole;
}

TEST(ChainLines, LineEndsDotsAndTheLastLine) {
  EXPECT_EQ(walk_every_way("a: 1\r\n..b\r\nc\n\r\n.\r\nend", 1000),
            "[a: 1]0-6 [.b]6-11 [c]11-13 []13-15 []15-18 [end]18-21 ");
  EXPECT_EQ(walk_every_way("", 1000), "");
  EXPECT_EQ(walk_every_way("\r\n\n", 1000), "[]0-2 []2-3 ");
  EXPECT_EQ(walk_every_way("x\r", 1000), "[x\r]0-2 ");  // no line end: kept as it came
}

TEST(ChainLines, TheLimitCutsALineOff) {
  const std::string_view text = "ab\r\ncd\r\nef";
  EXPECT_EQ(walk_every_way(text, 0), "");
  EXPECT_EQ(walk_every_way(text, 3), "");
  EXPECT_EQ(walk_every_way(text, 4), "[ab]0-4 ");
  EXPECT_EQ(walk_every_way(text, 7), "[ab]0-4 ");
  EXPECT_EQ(walk_every_way(text, 9), "[ab]0-4 [cd]4-8 ");  // "e" alone could be cut: not returned
  EXPECT_EQ(walk_every_way(text, 10), "[ab]0-4 [cd]4-8 [ef]8-10 ");
  EXPECT_EQ(walk_every_way(text, 11), "[ab]0-4 [cd]4-8 [ef]8-10 ");
}

TEST(ScanHeaders, MessageIdPresent) {
  const std::string msg = "From: a@example.org\r\nMessage-ID: <abc.1@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";
  const HeaderScan s = scan(msg);
  EXPECT_TRUE(s.has_message_id);
  EXPECT_EQ(s.message_id, "<abc.1@example.org>");
  EXPECT_TRUE(s.been_there.empty());
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.header_bytes, msg.find("\r\n\r\n") + 2);
}

TEST(ScanHeaders, MessageIdAbsent) {
  const std::string msg = "From: a@example.org\r\nSubject: Message-ID: <no@x>\r\n\r\nMessage-ID: <body@x>\r\n";
  const HeaderScan s = scan(msg);
  EXPECT_FALSE(s.has_message_id);
  EXPECT_EQ(s.message_id, "");
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.header_bytes, msg.find("\r\n\r\n") + 2);
}

TEST(ScanHeaders, MessageIdFolded) {
  const HeaderScan s = scan("Subject: x\r\nMessage-ID:\r\n \t<folded@example.org>  \r\nTo: b@x\r\n\r\n");
  EXPECT_TRUE(s.has_message_id);
  EXPECT_EQ(s.message_id, "<folded@example.org>");
  EXPECT_TRUE(s.complete);
}

TEST(ScanHeaders, FieldNamesIgnoreCase) {
  EXPECT_EQ(scan("message-id: <a@x>\r\n\r\n").message_id, "<a@x>");
  EXPECT_EQ(scan("MESSAGE-ID:<b@x>\r\n\r\n").message_id, "<b@x>");
  EXPECT_EQ(scan("Message-Id : <c@x>\r\n\r\n").message_id, "<c@x>");  // obsolete blank before the colon
  EXPECT_FALSE(scan("Message-IDs: <d@x>\r\nX-Message-ID: <e@x>\r\n\r\n").has_message_id);
}

TEST(ScanHeaders, FirstMessageIdWins) {
  const HeaderScan s = scan("Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n");
  EXPECT_EQ(s.message_id, "<first@x>");
}

TEST(ScanHeaders, EveryBeenThere) {
  const HeaderScan s = scan(
      "X-BeenThere: Announce@Lists.Example.ORG\r\n"
      "Subject: x\r\n"
      "x-beenthere:   <dev@lists.example.org>  \r\n"
      "X-BEENTHERE:\r\n"
      "\tother@example.net\r\n"
      "\r\n"
      "X-BeenThere: body@example.org\r\n");
  EXPECT_EQ(s.been_there,
            (std::vector<std::string>{"announce@lists.example.org", "<dev@lists.example.org>", "other@example.net"}));
  EXPECT_TRUE(s.complete);
}

TEST(ScanHeaders, HeaderEndsWithTheBody) {
  const std::string unterminated = "Subject: x\r\nMessage-ID: <end@x>";
  HeaderScan s = scan(unterminated);
  EXPECT_FALSE(s.complete);
  EXPECT_EQ(s.message_id, "<end@x>");
  EXPECT_EQ(s.header_bytes, unterminated.size());

  const std::string terminated = "Subject: x\r\nX-BeenThere: l@x\r\n";
  s = scan(terminated);
  EXPECT_FALSE(s.complete);
  EXPECT_EQ(s.been_there, std::vector<std::string>{"l@x"});
  EXPECT_EQ(s.header_bytes, terminated.size());

  s = scan("");
  EXPECT_FALSE(s.complete);
  EXPECT_EQ(s.header_bytes, 0u);
}

TEST(ScanHeaders, BodyWithoutHeaders) {
  HeaderScan s = scan("\r\nMessage-ID: <no@x>\r\n");
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.header_bytes, 0u);
  EXPECT_FALSE(s.has_message_id);
  s = scan("\nX-BeenThere: l@x\n");
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.header_bytes, 0u);
  EXPECT_TRUE(s.been_there.empty());
}

TEST(ScanHeaders, LimitReached) {
  const std::string msg = "Subject: x\r\nMessage-ID: <lim@x>\r\nX-BeenThere: l@x\r\n\r\nbody\r\n";
  const size_t id_end = msg.find("X-Been");
  const size_t been_end = msg.find("\r\n\r\n") + 2;
  const size_t empty_end = been_end + 2;
  for (size_t limit = 0; limit <= msg.size(); ++limit) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    const HeaderScan s = scan(msg, limit);
    EXPECT_EQ(s.has_message_id, limit >= id_end);
    EXPECT_EQ(s.been_there.size(), limit >= been_end ? 1u : 0u);
    EXPECT_EQ(s.complete, limit >= empty_end);
    const size_t whole_lines = limit >= been_end ? been_end : limit >= id_end ? id_end : limit >= 12 ? 12 : 0;
    EXPECT_EQ(s.header_bytes, whole_lines);
  }
}

TEST(ScanHeaders, LimitOnAnEndlessLine) {
  const std::string msg = "Subject: " + std::string(100000, 'x');
  io::BufferPool pool(64);
  const HeaderScan s = scan_headers(io::copy_into_pool(pool, msg), 1000);
  EXPECT_FALSE(s.complete);
  EXPECT_EQ(s.header_bytes, 0u);
}

TEST(ScanHeaders, DotStuffedLineCountsInWireForm) {
  // The wire line "..hidden" is the line ".hidden": not a field, skipped, but its bytes count.
  const std::string msg = "Subject: x\r\n..hidden\r\n.X-BeenThere: l@x\r\nMessage-ID: <dot@x>\r\n\r\n";
  const HeaderScan s = scan(msg);
  EXPECT_EQ(s.message_id, "<dot@x>");
  EXPECT_EQ(s.been_there, std::vector<std::string>{"l@x"});  // ".X-" was stuffed once: it is "X-"
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.header_bytes, msg.size() - 2);
}

TEST(ScanHeaders, BareLineFeeds) {
  const std::string msg = "Message-ID: <lf@x>\nX-BeenThere: l@x\r\nTo:\n b@x\n\nbody\n";
  const HeaderScan s = scan(msg);
  EXPECT_EQ(s.message_id, "<lf@x>");
  EXPECT_EQ(s.been_there, std::vector<std::string>{"l@x"});
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.header_bytes, msg.find("\n\n") + 1);
}

TEST(BeenThere, MatchesTheListAddressInAnyForm) {
  HeaderScan s;
  s.been_there = {"dev@lists.example.org"};
  EXPECT_TRUE(been_there(s, "dev@lists.example.org"));
  EXPECT_TRUE(been_there(s, "DEV@Lists.Example.org"));
  EXPECT_FALSE(been_there(s, "announce@lists.example.org"));
  for (const char* value : {"<announce@lists.example.org>", "announce@lists.example.org (via listgate)",
                            " < announce@lists.example.org > (x)", "Announce@LISTS.example.org"}) {
    s.been_there = {"other@example.net", value};
    EXPECT_TRUE(been_there(s, "announce@lists.example.org")) << value;
  }
  for (const char* value : {"announce@lists.example.org.evil", "xannounce@lists.example.org", "announce", ""}) {
    s.been_there = {value};
    EXPECT_FALSE(been_there(s, "announce@lists.example.org")) << value;
  }
  s.been_there.clear();
  EXPECT_FALSE(been_there(s, "announce@lists.example.org"));
}

TEST(BeenThere, WorksOnAScannedPost) {
  const HeaderScan s = scan("X-BeenThere: <Announce@Lists.Example.org> (loop)\r\n\r\n");
  EXPECT_TRUE(been_there(s, "announce@lists.example.org"));
}

TEST(ListHeaderLines, ExactText) {
  ListHeaderFields f;
  f.list_address = "announce@lists.example.org";
  f.local_part = "announce";
  f.domain = "lists.example.org";
  const std::string lines =
      "List-Id: <announce.lists.example.org>\r\n"
      "List-Post: <mailto:announce@lists.example.org>\r\n"
      "List-Help: <mailto:announce-owner@lists.example.org?subject=help>\r\n"
      "List-Unsubscribe: <mailto:announce-owner@lists.example.org?subject=unsubscribe>\r\n"
      "Precedence: list\r\n"
      "X-BeenThere: announce@lists.example.org\r\n";
  EXPECT_EQ(list_header_lines(f), lines);
  f.new_message_id = "<new.1@gw.example.org>";
  EXPECT_EQ(list_header_lines(f), "Message-ID: <new.1@gw.example.org>\r\n" + lines);
}

TEST(ListHeaderLines, TheLinesScanAsThePostsOwn) {
  ListHeaderFields f;
  f.list_address = "dev@example.org";
  f.local_part = "dev";
  f.domain = "example.org";
  f.new_message_id = "<x@y>";
  const HeaderScan s = scan(list_header_lines(f) + "\r\n");
  EXPECT_EQ(s.message_id, "<x@y>");
  EXPECT_TRUE(been_there(s, "dev@example.org"));
}

TEST(MakeMessageId, FormatAndHost) {
  const std::regex shape(R"(<[0-9a-z]+(\.[0-9a-z]+){2,3}@gw\.example\.org>)");
  const std::string id = make_message_id("gw.example.org");
  EXPECT_TRUE(std::regex_match(id, shape)) << id;
  const std::string local = make_message_id("");
  EXPECT_TRUE(local.starts_with("<") && local.ends_with("@localhost>")) << local;
  EXPECT_EQ(local.find('@'), local.rfind('@'));
}

TEST(MakeMessageId, UniqueOverManyCalls) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = make_message_id("h");
    ASSERT_TRUE(seen.insert(id).second) << "repeated " << id << " after " << i;
  }
}

}  // namespace
}  // namespace listgate::delivery

// regexp_match_test.cc - the regexp tables do what Postfix will do with
// them: every pattern line is compiled (std::regex ECMAScript, close enough
// to POSIX ERE for these patterns) and the map is looked up as Postfix
// does, first match wins.
#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "listgate/mta/postfix_maps.h"
#include "map_test_support.h"

namespace listgate::mta {
namespace {

using testing::load;
using testing::split_lines;

struct Rule {
  std::regex pattern;
  std::string result;
};

// Parses `/PATTERN/ RESULT` lines; comments and blank lines are skipped.
std::vector<Rule> parse_regexp_table(const std::string& text) {
  std::vector<Rule> rules;
  for (const std::string& line : split_lines(text)) {
    if (line.find_first_not_of(' ') == std::string::npos || line[0] == '#') continue;
    EXPECT_EQ(line[0], '/') << line;
    const size_t end = line.find("/ ");
    EXPECT_NE(end, std::string::npos) << line;
    if (end == std::string::npos) continue;
    const std::string pattern = line.substr(1, end - 1);
    const size_t result = line.find_first_not_of(' ', end + 1);
    EXPECT_NE(result, std::string::npos) << line;
    rules.push_back({std::regex(pattern, std::regex::ECMAScript), line.substr(result)});
  }
  return rules;
}

// Postfix regexp_table: the first match; $N and ${N} expand to the groups.
std::optional<std::string> lookup(const std::vector<Rule>& rules, const std::string& key) {
  for (const Rule& rule : rules) {
    std::smatch m;
    if (!std::regex_match(key, m, rule.pattern)) continue;
    std::string out;
    for (size_t i = 0; i < rule.result.size(); ++i) {
      if (rule.result.compare(i, 4, "${1}") == 0) {
        out += m.size() > 1 && m[1].matched ? m[1].str() : "";
        i += 3;
      } else {
        out += rule.result[i];
      }
    }
    return out;
  }
  return std::nullopt;
}

class RegexpMaps : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = load(R"({"domains": {"lists.example.org": {"alias_domain": "x.example.org"}},
        "lists": [
          {"address": "announce@lists.example.org", "verp": true},
          {"address": "dev.team@other.example.net", "backend": "lmtp:[127.0.0.1]:8025"},
          {"address": "plain@other.example.net"}]})");
    MapTextOptions o;
    o.type = MapType::regexp;
    o.transport = "lmtp:[127.0.0.1]:8024";
    o.generated_at = "2024-05-01 12:00:00";
    lmtp_ = parse_regexp_table(postfix_lmtp_text(*table_, o));
    domains_ = parse_regexp_table(postfix_domains_text(*table_, o));
    vmap_ = parse_regexp_table(postfix_vmap_text(*table_, o).value_or(""));
  }
  table::TablePtr table_;
  std::vector<Rule> lmtp_, domains_, vmap_;
};

TEST_F(RegexpMaps, TransportMatchesWhatListgateAccepts) {
  const std::string lmtp = "lmtp:[127.0.0.1]:8024";
  for (const char* address : {
           "announce@x.example.org", "announce-bounces@x.example.org",
           "announce-bounces+alice=example.org@x.example.org", "announce-owner@x.example.org",
           "dev.team@other.example.net", "dev.team-bounces+bob=example.com@other.example.net",
           "dev.team-confirm@other.example.net", "dev.team-confirm+0123abcd@other.example.net",
           "dev.team-request@other.example.net", "dev.team-join@other.example.net",
           "dev.team-leave@other.example.net", "dev.team-subscribe@other.example.net",
           "dev.team-unsubscribe@other.example.net", "dev.team-owner@other.example.net",
           "plain@other.example.net", "plain-bounces+carol=example.net@other.example.net"}) {
    EXPECT_EQ(lookup(lmtp_, address), lmtp) << address;
    // And listgate agrees (the alias domain resolves to the list's).
    EXPECT_EQ(table_->resolve(address).verdict, table::Verdict::accept) << address;
  }
}

TEST_F(RegexpMaps, TransportMissesWhatListgateRefuses) {
  for (const char* address : {
           "announce@lists.example.org",  // reaches the transport only through postfix_vmap
           "announce-request@x.example.org", "announce-confirm+token@x.example.org",
           "announce-join@x.example.org", "plain-unsubscribe@other.example.net",
           "dev.team-owner+x@other.example.net",  // only -bounces and -confirm take a tag
           "devxteam@other.example.net",           // '.' is a dot, not any character
           "dev.team@other.example.network", "xdev.team@other.example.net", "nobody@other.example.net",
           "dev.team-bounces@other.example.netx"}) {
    EXPECT_EQ(lookup(lmtp_, address), std::nullopt) << address;
  }
}

TEST_F(RegexpMaps, DomainsNameTheAliasDomain) {
  EXPECT_EQ(lookup(domains_, "x.example.org"), "lists.example.org");
  EXPECT_EQ(lookup(domains_, "other.example.net"), "other.example.net");
  EXPECT_EQ(lookup(domains_, "otherxexample.net"), std::nullopt);
  EXPECT_EQ(lookup(domains_, "lists.example.org"), std::nullopt);
}

TEST_F(RegexpMaps, VmapRewritesToTheAliasDomainKeepingTags) {
  EXPECT_EQ(lookup(vmap_, "announce@lists.example.org"), "announce@x.example.org");
  EXPECT_EQ(lookup(vmap_, "announce-bounces+alice=example.org@lists.example.org"),
            "announce-bounces+alice=example.org@x.example.org");
  EXPECT_EQ(lookup(vmap_, "announce-bounces@lists.example.org"), "announce-bounces@x.example.org");
  EXPECT_EQ(lookup(vmap_, "announce-owner@lists.example.org"), "announce-owner@x.example.org");
  EXPECT_EQ(lookup(vmap_, "announce-request@lists.example.org"), std::nullopt);
  EXPECT_EQ(lookup(vmap_, "plain@other.example.net"), std::nullopt);
  // Every rewritten address is one the transport map routes.
  for (const char* address : {"announce@lists.example.org", "announce-bounces+a=b@lists.example.org",
                              "announce-owner@lists.example.org"}) {
    const auto rewritten = lookup(vmap_, address);
    ASSERT_TRUE(rewritten.has_value()) << address;
    EXPECT_TRUE(lookup(lmtp_, *rewritten).has_value()) << *rewritten;
  }
}

}  // namespace
}  // namespace listgate::mta

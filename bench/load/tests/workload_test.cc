// workload_test.cc - the prebuilt bytes: exact unknown share, addresses in
// turn, bodies of the asked sizes, the message budget.
#include "workload.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

namespace listgate::loadbench {
namespace {

WorkloadSpec spec(uint32_t rcpts, double unknown, std::string_view sizes) {
  WorkloadSpec s;
  s.known = {"a@l.example", "b@l.example", "c@l.example"};
  s.unknown = {"no-such-list-0@l.example", "no-such-list-1@l.example"};
  s.rcpts_per_message = rcpts;
  s.unknown_share = unknown;
  s.sizes = parse_size_distribution(sizes).value();
  return s;
}

TEST(Workload, UnknownShareIsExactOverTheSets) {
  for (double share : {0.0, 0.1, 0.25, 0.5, 1.0}) {
    auto w = Workload::build(spec(10, share, "4k"));
    ASSERT_TRUE(w.ok()) << w.error().message;
    size_t total = 0, unknown = 0;
    for (const RecipientSet& set : (*w)->recipient_sets()) {
      for (uint32_t i = 0; i < set.rcpts(); ++i) {
        ++total;
        unknown += set.unknown[i];
      }
      EXPECT_EQ(std::string(set.line(set.rcpts()).view()), "DATA\r\n");
    }
    EXPECT_EQ(total, recipient_set_count(10) * 10);
    EXPECT_EQ(unknown, static_cast<size_t>(std::llround(share * static_cast<double>(total)))) << share;
  }
}

TEST(Workload, LinesMatchTheirPlan) {
  auto w = Workload::build(spec(4, 0.3, "4k"));
  ASSERT_TRUE(w.ok());
  for (const RecipientSet& set : (*w)->recipient_sets()) {
    std::string joined;
    for (uint32_t i = 0; i <= set.rcpts(); ++i) joined += set.line(i).view();
    EXPECT_EQ(joined, set.commands.view());
    for (uint32_t i = 0; i < set.rcpts(); ++i) {
      const bool names_unknown = set.line(i).view().find("no-such-list-") != std::string_view::npos;
      EXPECT_EQ(names_unknown, set.unknown[i] != 0);
      EXPECT_EQ(set.line(i).view().substr(0, 9), "RCPT TO:<");
    }
  }
}

TEST(Workload, KnownAddressesTakeTurns) {
  auto w = Workload::build(spec(1, 0, "4k"));
  ASSERT_TRUE(w.ok());
  std::map<std::string, int> seen;
  for (int i = 0; i < 3; ++i) seen[std::string((*w)->recipient_sets()[static_cast<size_t>(i)].line(0).view())]++;
  EXPECT_EQ(seen.size(), 3u);
}

TEST(Workload, BodiesHaveTheirSizesAndMailLines) {
  auto w = Workload::build(spec(1, 0, "1k,2k,64k"));
  ASSERT_TRUE(w.ok());
  const auto& bodies = (*w)->bodies();
  ASSERT_EQ(bodies.size(), 3u);
  const uint64_t sizes[] = {1024, 2048, 65536};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(bodies[i].size, sizes[i]);
    EXPECT_EQ(bodies[i].message.length, sizes[i] + 3);
    EXPECT_EQ(bodies[i].message.view().substr(sizes[i]), ".\r\n");
    EXPECT_EQ(std::string(bodies[i].mail_line.view()),
              "MAIL FROM:<bench-bounces@listgate-bench.example> SIZE=" + std::to_string(sizes[i]) + "\r\n");
  }
  EXPECT_EQ(std::string((*w)->lhlo().view()), "LHLO listgate-bench.example\r\n");
  EXPECT_EQ(std::string((*w)->quit().view()), "QUIT\r\n");
}

TEST(Workload, BodiesAreDrawnFromAllVariants) {
  auto w = Workload::build(spec(1, 0, "1k:2k"));
  ASSERT_TRUE(w.ok());
  std::set<const Body*> seen;
  for (int i = 0; i < 10000; ++i) seen.insert((*w)->next_message()->body);
  EXPECT_EQ(seen.size(), (*w)->bodies().size());
}

TEST(Workload, BudgetAndStop) {
  WorkloadSpec s = spec(1, 0, "4k");
  s.message_limit = 3;
  auto w = Workload::build(s);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE((*w)->next_message());
  EXPECT_TRUE((*w)->next_message());
  EXPECT_TRUE((*w)->next_message());
  EXPECT_FALSE((*w)->next_message());
  EXPECT_TRUE((*w)->exhausted());
  EXPECT_EQ((*w)->handed_out(), 3u);

  auto u = Workload::build(spec(1, 0, "4k"));
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE((*u)->next_message());
  (*u)->stop();
  EXPECT_FALSE((*u)->next_message());
}

TEST(Workload, Errors) {
  WorkloadSpec s = spec(1, 0, "4k");
  s.known.clear();
  EXPECT_FALSE(Workload::build(s).ok());
  s = spec(1, 0.5, "4k");
  s.unknown.clear();
  EXPECT_FALSE(Workload::build(s).ok());
  s = spec(1, 1.0, "4k");
  s.known.clear();
  EXPECT_TRUE(Workload::build(s).ok());  // only unknown addresses: fine
}

}  // namespace
}  // namespace listgate::loadbench

// size_distribution_test.cc - `--size`: fixed, ranges, lists, units and errors.
#include "size_distribution.h"

#include <gtest/gtest.h>

#include <numeric>

namespace listgate::loadbench {
namespace {

TEST(SizeDistribution, ByteSizes) {
  EXPECT_EQ(parse_byte_size("4096").value(), 4096u);
  EXPECT_EQ(parse_byte_size("4k").value(), 4096u);
  EXPECT_EQ(parse_byte_size("4K").value(), 4096u);
  EXPECT_EQ(parse_byte_size("2m").value(), 2u * 1024 * 1024);
  EXPECT_EQ(parse_byte_size("2M").value(), 2u * 1024 * 1024);
  EXPECT_FALSE(parse_byte_size("").ok());
  EXPECT_FALSE(parse_byte_size("k").ok());
  EXPECT_FALSE(parse_byte_size("4kk").ok());
  EXPECT_FALSE(parse_byte_size("4g").ok());
  EXPECT_FALSE(parse_byte_size("-4").ok());
  EXPECT_FALSE(parse_byte_size("4 k").ok());
  EXPECT_FALSE(parse_byte_size("99999999999999999999").ok());
}

TEST(SizeDistribution, Fixed) {
  auto d = parse_size_distribution("4k");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, SizeDistribution::Kind::fixed);
  EXPECT_EQ(d->variants(), std::vector<uint64_t>{4096});
  EXPECT_EQ(d->largest(), 4096u);
  EXPECT_EQ(d->describe(), "4096");
}

TEST(SizeDistribution, UniformRangeIsEvenlySpacedWithTheRightMean) {
  auto d = parse_size_distribution("1k:64k");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, SizeDistribution::Kind::uniform);
  EXPECT_EQ(d->describe(), "1024:65536");
  EXPECT_EQ(d->largest(), 65536u);
  const std::vector<uint64_t> v = d->variants();
  ASSERT_EQ(v.size(), kRangeVariants);
  EXPECT_EQ(v.front(), 1024u);
  EXPECT_EQ(v.back(), 65536u);
  for (size_t i = 1; i < v.size(); ++i) {
    const uint64_t step = v[i] - v[i - 1];
    EXPECT_NEAR(static_cast<double>(step), (65536.0 - 1024) / 63, 1.0);
  }
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  EXPECT_NEAR(mean, (1024.0 + 65536) / 2, 1.0);
}

TEST(SizeDistribution, NarrowRangeHasOneVariantPerSize) {
  auto d = parse_size_distribution("1000:1003");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->variants(), (std::vector<uint64_t>{1000, 1001, 1002, 1003}));
  auto same = parse_size_distribution("1k:1k");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->kind, SizeDistribution::Kind::fixed);
}

TEST(SizeDistribution, HugeRangeKeepsThePrebuiltBytesBounded) {
  auto d = parse_size_distribution("1m:64m");
  ASSERT_TRUE(d.ok());
  const std::vector<uint64_t> v = d->variants();
  EXPECT_EQ(v.size(), kMaxPrebuiltBytes / (uint64_t{64} << 20));
  EXPECT_LE(std::accumulate(v.begin(), v.end(), uint64_t{0}), kMaxPrebuiltBytes);
}

TEST(SizeDistribution, List) {
  auto d = parse_size_distribution("1k,4k,4k,64k");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, SizeDistribution::Kind::list);
  EXPECT_EQ(d->variants(), (std::vector<uint64_t>{1024, 4096, 4096, 65536}));
  EXPECT_EQ(d->largest(), 65536u);
  EXPECT_EQ(d->describe(), "1024,4096,4096,65536");
}

TEST(SizeDistribution, Errors) {
  EXPECT_FALSE(parse_size_distribution("").ok());
  EXPECT_FALSE(parse_size_distribution("100").ok());  // below kMinMessageSize
  EXPECT_FALSE(parse_size_distribution("65m").ok());  // above kMaxMessageSize
  EXPECT_FALSE(parse_size_distribution("64k:1k").ok());
  EXPECT_FALSE(parse_size_distribution("1k:").ok());
  EXPECT_FALSE(parse_size_distribution(":1k").ok());
  EXPECT_FALSE(parse_size_distribution("1k,").ok());
  EXPECT_FALSE(parse_size_distribution("1k,,2k").ok());
  EXPECT_FALSE(parse_size_distribution("64m,64m,64m,64m,64m,64m,64m,64m,64m").ok());  // over 512m together
  EXPECT_EQ(parse_size_distribution("64k:1k").error().message, "'64k:1k': a range is LOW:HIGH with LOW <= HIGH");
  EXPECT_EQ(parse_size_distribution("12").error().message,
            "'12': a message size is 300 to 67108864 bytes (64m)");
}

}  // namespace
}  // namespace listgate::loadbench

// perfect_hash_test.cc - the perfect hash finds every key and only keys.
#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "listgate/table/hash.h"
#include "listgate/table/perfect_hash.h"

namespace listgate::table {
namespace {

constexpr uint64_t kTestSeed = 12345;

PerfectHash build_from(const std::vector<std::string>& keys) {
  PerfectHashBuilder builder;
  for (size_t i = 0; i < keys.size(); ++i) {
    builder.add(keys[i], static_cast<uint32_t>(i), static_cast<uint16_t>(i * 7));
  }
  Result<PerfectHash> index = std::move(builder).build();
  EXPECT_TRUE(index.ok()) << (index.ok() ? "" : index.error().message);
  return index.ok() ? std::move(index).value() : PerfectHash();
}

void expect_all_found(const PerfectHash& index, const std::vector<std::string>& keys) {
  ASSERT_EQ(index.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto hit = index.find(keys[i]);
    ASSERT_TRUE(hit) << "key " << i << " not found";
    ASSERT_EQ(hit.value(), i);
    ASSERT_EQ(hit.flags(), static_cast<uint16_t>(i * 7));
  }
}

std::string random_key(std::mt19937_64& rng, size_t min_length, size_t max_length,
                       bool printable) {
  std::uniform_int_distribution<size_t> length(min_length, max_length);
  std::string key(length(rng), '\0');
  for (char& c : key) {
    c = printable ? static_cast<char>('!' + rng() % 94) : static_cast<char>(rng());
  }
  return key;
}

std::vector<std::string> random_keys(size_t count, uint64_t seed, bool printable = true) {
  std::mt19937_64 rng(seed);
  std::unordered_set<std::string> seen;
  std::vector<std::string> keys;
  keys.reserve(count);
  while (keys.size() < count) {
    std::string key = random_key(rng, 1, 48, printable);
    if (seen.insert(key).second) keys.push_back(std::move(key));
  }
  return keys;
}

std::string lowercase(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  return text;
}

// The string a FoldedKey describes, built the slow way.
std::string described(const FoldedKey& key) {
  std::string text = lowercase(std::string(key.bytes, key.length));
  if (key.has_tag) text.append(reinterpret_cast<const char*>(&key.tag), FoldedKey::kTagBytes);
  return text;
}

TEST(Hash, FoldedKeyHashesLikeTheStringItDescribes) {
  // Every length through the short, pair and stripe paths of the hash, and
  // every place the tag can fall relative to the 4- and 8-byte reads.
  std::mt19937_64 rng(21);
  for (size_t length = 0; length <= 200; ++length) {
    for (int round = 0; round < 20; ++round) {
      std::string text(length, '\0');
      for (char& c : text) c = static_cast<char>(rng());
      const uint64_t seed = rng();
      const FoldedKey plain{text.data(), text.size(), 0, false};
      const FoldedKey tagged{text.data(), text.size(), static_cast<uint32_t>(rng()), true};
      ASSERT_EQ(hash_folded(plain, seed), hash_bytes(described(plain), seed)) << length;
      ASSERT_EQ(hash_folded(tagged, seed), hash_bytes(described(tagged), seed)) << length;
    }
  }
}

TEST(Hash, SimilarInputsHashApart) {
  // One flipped bit anywhere changes about half of the 64 output bits.
  std::mt19937_64 rng(8);
  double total_changed = 0;
  int trials = 0;
  for (size_t length : {3, 8, 15, 16, 17, 33, 49, 100}) {
    std::string text(length, 'a');
    for (char& c : text) c = static_cast<char>(rng());
    const uint64_t base = hash_bytes(text, kTestSeed);
    for (size_t bit = 0; bit < length * 8; ++bit) {
      std::string flipped = text;
      flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
      const int changed = __builtin_popcountll(base ^ hash_bytes(flipped, kTestSeed));
      ASSERT_GT(changed, 8) << "length " << length << " bit " << bit;
      total_changed += changed;
      ++trials;
    }
  }
  EXPECT_NEAR(total_changed / trials, 32.0, 1.0);
}

TEST(PerfectHash, FindsFoldedKeysInAnyCase) {
  // Keys as the list table stores them: a lower-case name and a 4-byte tag.
  std::vector<std::string> names;
  PerfectHashBuilder builder;
  for (uint32_t i = 0; i < 5'000; ++i) {
    names.push_back("List-" + std::to_string(i * 7919) + "-Name");
    std::string key = lowercase(names.back());
    const uint32_t tag = i % 3;
    key.append(reinterpret_cast<const char*>(&tag), sizeof tag);
    builder.add(key, i);
  }
  Result<PerfectHash> built = std::move(builder).build();
  ASSERT_TRUE(built.ok());
  const PerfectHash& index = built.value();
  for (uint32_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    const auto hit = index.find(FoldedKey{name.data(), name.size(), i % 3, true});
    ASSERT_TRUE(hit) << name;
    ASSERT_EQ(hit.value(), i);
    const std::string upper = [&] {
      std::string u = name;
      for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return u;
    }();
    ASSERT_EQ(index.find(FoldedKey{upper.data(), upper.size(), i % 3, true}).value(), i);
    // Another tag, no tag, one character fewer or more: all refused.
    ASSERT_FALSE(index.find(FoldedKey{name.data(), name.size(), i % 3 + 1, true}));
    ASSERT_FALSE(index.find(FoldedKey{name.data(), name.size(), 0, false}));
    ASSERT_FALSE(index.find(FoldedKey{name.data(), name.size() - 1, i % 3, true}));
    const std::string longer = name + "x";
    ASSERT_FALSE(index.find(FoldedKey{longer.data(), longer.size(), i % 3, true}));
  }
}

TEST(PerfectHash, EmptyIndexFindsNothing) {
  const PerfectHash built = build_from({});
  const PerfectHash default_constructed;
  for (const PerfectHash* index : {&built, &default_constructed}) {
    EXPECT_EQ(index->size(), 0u);
    EXPECT_FALSE(index->find(""));
    EXPECT_FALSE(index->find("a"));
    EXPECT_FALSE(index->find("list@example.org"));
  }
}

TEST(PerfectHash, OneKey) {
  const PerfectHash index = build_from({"only"});
  expect_all_found(index, {"only"});
  EXPECT_FALSE(index.find(""));
  EXPECT_FALSE(index.find("onl"));
  EXPECT_FALSE(index.find("only "));
  EXPECT_FALSE(index.find("ONLY"));
}

TEST(PerfectHash, TwoKeys) {
  const std::vector<std::string> keys = {"a", "b"};
  const PerfectHash index = build_from(keys);
  expect_all_found(index, keys);
  EXPECT_FALSE(index.find("c"));
  EXPECT_FALSE(index.find("ab"));
}

TEST(PerfectHash, EmptyStringIsAKeyLikeAnyOther) {
  const std::vector<std::string> keys = {"", "x"};
  const PerfectHash index = build_from(keys);
  expect_all_found(index, keys);
  EXPECT_FALSE(index.find(std::string(1, '\0')));
}

TEST(PerfectHash, EverySmallSize) {
  for (size_t count = 0; count <= 300; ++count) {
    SCOPED_TRACE(count);
    const std::vector<std::string> keys = random_keys(count, count + 1);
    const PerfectHash index = build_from(keys);
    expect_all_found(index, keys);
    EXPECT_GE(index.build_stats().slots, count);
  }
}

TEST(PerfectHash, KeysOfEveryLengthAndByte) {
  std::vector<std::string> keys;
  for (size_t length = 0; length <= 200; ++length) keys.push_back(std::string(length, 'k'));
  for (int byte = 0; byte < 256; ++byte) keys.push_back("byte" + std::string(1, static_cast<char>(byte)));
  keys.push_back(std::string(PerfectHashBuilder::kMaxKeyLength, 'z'));
  const PerfectHash index = build_from(keys);
  expect_all_found(index, keys);
}

TEST(PerfectHash, MillionRandomKeysAllFoundAndNonKeysRefused) {
  constexpr size_t kKeys = 1'000'000;
  const std::vector<std::string> keys = random_keys(kKeys, 42, /*printable=*/false);
  const PerfectHash index = build_from(keys);
  expect_all_found(index, keys);
  // Slots are about keys / 0.985: the index is nearly minimal.
  EXPECT_LT(index.build_stats().slots, kKeys * 102 / 100);
  EXPECT_LE(index.build_stats().buckets, kKeys / 3 + 1);

  const std::unordered_set<std::string> key_set(keys.begin(), keys.end());
  std::mt19937_64 rng(7);
  size_t refused = 0;
  for (size_t i = 0; i < kKeys; ++i) {
    const std::string probe = random_key(rng, 4, 48, false);
    if (key_set.count(probe) != 0) continue;
    ASSERT_FALSE(index.find(probe)) << "non-key " << i << " found";
    ++refused;
  }
  EXPECT_GT(refused, kKeys * 99 / 100);
}

TEST(PerfectHash, NearMissesAreRefused) {
  const std::vector<std::string> keys = random_keys(20'000, 99);
  const PerfectHash index = build_from(keys);
  const std::unordered_set<std::string> key_set(keys.begin(), keys.end());
  size_t probes = 0;
  auto expect_refused = [&](const std::string& probe) {
    if (key_set.count(probe) != 0) return;
    ++probes;
    ASSERT_FALSE(index.find(probe)) << "near miss found: " << probe;
  };
  for (size_t k = 0; k < 2'000; ++k) {
    const std::string& key = keys[k];
    for (size_t i = 0; i < key.size(); ++i) {
      for (const int bit : {0x01, 0x20, 0x80}) {
        std::string changed = key;
        changed[i] = static_cast<char>(changed[i] ^ bit);  // one byte changed (0x20: its case)
        expect_refused(changed);
      }
      expect_refused(key.substr(0, i));                       // every proper prefix
      expect_refused(key.substr(i + 1));                      // every proper suffix
      std::string dropped = key;
      dropped.erase(i, 1);
      expect_refused(dropped);                                // one byte fewer
    }
    expect_refused(key + "x");
    expect_refused(key + std::string(1, '\0'));
    expect_refused("x" + key);
    std::string upper = key;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    expect_refused(upper);
  }
  EXPECT_GT(probes, 100'000u);
}

TEST(PerfectHash, FingerprintCollisionsAreSettledByTheFullKey) {
  // With 16-bit fingerprints about one random non-key in 65536 shares its
  // slot's fingerprint; find those and check the full comparison refuses them.
  const std::vector<std::string> keys = random_keys(50'000, 5);
  const PerfectHash index = build_from(keys);
  const std::unordered_set<std::string> key_set(keys.begin(), keys.end());
  std::mt19937_64 rng(11);
  size_t collisions = 0;
  for (size_t i = 0; i < 20'000'000 && collisions < 25; ++i) {
    const std::string probe = random_key(rng, 8, 24, true);
    const auto candidate = index.fingerprint_match(probe);
    if (!candidate || key_set.count(probe) != 0) continue;
    ++collisions;
    EXPECT_NE(*candidate, probe);
    EXPECT_FALSE(index.find(probe)) << probe << " shares a fingerprint with " << *candidate;
  }
  EXPECT_EQ(collisions, 25u);
  // And every key matches its own fingerprint.
  for (const std::string& key : keys) ASSERT_EQ(index.fingerprint_match(key), key);
}

TEST(PerfectHash, DuplicateKeysAreReported) {
  PerfectHashBuilder builder;
  builder.add("alpha", 0);
  builder.add("beta", 1);
  builder.add("gamma", 2);
  builder.add("beta", 3);
  PerfectHashBuilder::DuplicateKeys duplicate;
  Result<PerfectHash> index = std::move(builder).build(PerfectHashBuilder::kDefaultSeed, &duplicate);
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.error().message.find("duplicate"), std::string::npos);
  EXPECT_EQ(duplicate.first, 1u);
  EXPECT_EQ(duplicate.second, 3u);
}

TEST(PerfectHash, AnySeedWorks) {
  const std::vector<std::string> keys = random_keys(5'000, 3);
  for (uint64_t seed : {uint64_t{0}, uint64_t{1}, kTestSeed, ~uint64_t{0}}) {
    PerfectHashBuilder builder;
    for (size_t i = 0; i < keys.size(); ++i) builder.add(keys[i], static_cast<uint32_t>(i));
    Result<PerfectHash> index = std::move(builder).build(seed);
    ASSERT_TRUE(index.ok());
    for (size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(index.value().find(keys[i]).value(), i);
  }
}

TEST(PerfectHash, SimilarKeysLikeListAddresses) {
  // Sequential names differing in one or two characters: the shape of real
  // list tables, and the worst case for a weak hash.
  std::vector<std::string> keys;
  for (int i = 0; i < 200'000; ++i) keys.push_back("list" + std::to_string(i) + "@example.org");
  const PerfectHash index = build_from(keys);
  expect_all_found(index, keys);
  EXPECT_FALSE(index.find("list200000@example.org"));
  EXPECT_FALSE(index.find("list-1@example.org"));
}

TEST(PerfectHash, FlagsCanBeAddedAfterTheBuild) {
  PerfectHashBuilder builder;
  builder.add("one", 1, 0x0001);
  builder.add("two", 2);
  Result<PerfectHash> built = std::move(builder).build();
  ASSERT_TRUE(built.ok());
  PerfectHash index = std::move(built).value();
  EXPECT_TRUE(index.add_flags("one", 0x0100));
  EXPECT_FALSE(index.add_flags("three", 0x0100));
  EXPECT_EQ(index.find("one").flags(), 0x0101);
  EXPECT_EQ(index.find("two").flags(), 0);
  EXPECT_EQ(index.find("one").value(), 1u);
}

TEST(PerfectHash, ForEachVisitsKeysInOrder) {
  const std::vector<std::string> keys = {"c", "a", "", "bb"};
  const PerfectHash index = build_from(keys);
  std::vector<std::string> seen;
  std::vector<uint32_t> values;
  index.for_each([&](std::string_view key, PerfectHash::Hit hit) {
    seen.emplace_back(key);
    values.push_back(hit.value());
  });
  EXPECT_EQ(seen, keys);
  EXPECT_EQ(values, (std::vector<uint32_t>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace listgate::table

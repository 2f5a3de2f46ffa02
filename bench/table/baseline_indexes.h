// baseline_indexes.h - what the perfect hash is measured against.
//
// Both baselines hold exactly the keys, values and flags of a ListTable's
// own indexes (copied with PerfectHash::for_each) and satisfy the KeyIndex
// concept, so resolve_recipient() runs the same normalisation and rules on
// all three: only the index differs.
//   UnorderedIndex: std::unordered_map<std::string, Hit>, looked up by
//     string_view (heterogeneous lookup, no std::string built per lookup).
//   BBHashIndex: BBHash (BooPHF) over the keys' 64-bit hashes, gamma 2; an
//     MPHF answers some index for any input, so each slot keeps the offset
//     of its key in an arena and the lookup compares the key, as ours does.
#pragma once

// BBHash's header trips GCC's flow warnings; they are not ours to fix.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <BooPHF.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "listgate/table/address.h"
#include "listgate/table/hash.h"
#include "listgate/table/perfect_hash.h"

namespace listgate::bench {

using table::FoldedKey;
using table::PerfectHash;

// The baselines look up real strings: the key a FoldedKey describes is
// built (copied, lower-cased, tagged) into `out` first, as any
// string-keyed map needs.
inline std::string_view build_key(const FoldedKey& key, char* out) noexcept {
  std::memcpy(out, key.bytes, key.length);
  table::lowercase_ascii(out, key.length);
  if (key.has_tag) std::memcpy(out + key.length, &key.tag, FoldedKey::kTagBytes);
  return {out, key.size()};
}

inline constexpr size_t kKeyBufferSize = table::kMaxAddressLength + FoldedKey::kTagBytes;

class UnorderedIndex {
 public:
  explicit UnorderedIndex(const PerfectHash& source) {
    map_.reserve(source.size());
    source.for_each([&](std::string_view key, PerfectHash::Hit hit) { map_.emplace(key, hit); });
  }
  PerfectHash::Hit find(const FoldedKey& key) const noexcept {
    char buffer[kKeyBufferSize];
    return find(build_key(key, buffer));
  }
  PerfectHash::Hit find(std::string_view key) const noexcept {
    const auto found = map_.find(key);
    if (found == map_.end()) return {};
    return found->second;
  }

 private:
  struct TransparentHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, PerfectHash::Hit, TransparentHash, std::equal_to<>> map_;
};

class BBHashIndex {
 public:
  static constexpr double kGamma = 2.0;
  static constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ull;

  explicit BBHashIndex(const PerfectHash& source) {
    std::vector<uint64_t> hashes;
    std::vector<std::pair<uint64_t, size_t>> entries;  // hash, arena offset
    hashes.reserve(source.size());
    source.for_each([&](std::string_view key, PerfectHash::Hit hit) {
      const uint64_t hash = table::hash_bytes(key, kSeed);
      hashes.push_back(hash);
      entries.emplace_back(hash, arena_.size());
      append(key, hit);
    });
    mphf_ = std::make_unique<Mphf>(hashes.size(), hashes, /*num_thread=*/1, kGamma,
                                   /*writeEach=*/true, /*progress=*/false);
    offsets_.resize(hashes.size());
    for (const auto& [hash, offset] : entries) offsets_[mphf_->lookup(hash)] = offset;
  }
  PerfectHash::Hit find(const FoldedKey& key) const noexcept {
    char buffer[kKeyBufferSize];
    return find(build_key(key, buffer));
  }
  PerfectHash::Hit find(std::string_view key) const noexcept {
    const uint64_t index = mphf_->lookup(table::hash_bytes(key, kSeed));
    if (index >= offsets_.size()) return {};
    const char* entry = arena_.data() + offsets_[index];
    Header header;
    std::memcpy(&header, entry, sizeof header);
    if (header.length != key.size() || std::memcmp(entry + sizeof header, key.data(), key.size()) != 0) {
      return {};
    }
    return header.hit;
  }

 private:
  using Mphf = boomphf::mphf<uint64_t, boomphf::SingleHashFunctor<uint64_t>>;
  struct Header {
    PerfectHash::Hit hit;
    uint16_t length;
  };
  void append(std::string_view key, PerfectHash::Hit hit) {
    const Header header{hit, static_cast<uint16_t>(key.size())};
    const auto* bytes = reinterpret_cast<const char*>(&header);
    arena_.insert(arena_.end(), bytes, bytes + sizeof header);
    arena_.insert(arena_.end(), key.begin(), key.end());
  }
  std::unique_ptr<Mphf> mphf_;  // lookup() is not const in BBHash
  std::vector<uint64_t> offsets_;
  std::vector<char> arena_;
};

}  // namespace listgate::bench

// perfect_hash.h - a static perfect hash from byte strings to 32-bit values.
//
// The PTHash/PtrHash design: every key is hashed once to 64 bits; the hash
// picks a bucket (about 3 keys per bucket, skewed: 60% of the keys go to
// 30% of the buckets, so the big buckets are placed first while the table
// is still empty); there are keys / 0.99 slots; each bucket has an 8-bit
// pilot, and a key's slot is a function of its hash and its bucket's
// pilot. Building finds, bucket by bucket, largest first, a pilot that
// sends all the bucket's keys to free slots; when none does it evicts the
// cheapest buckets in the way, as PtrHash does, and a bounded amount of
// failed work restarts with a new seed.
//
// A lookup is one hash, one byte read (the pilots fit in L2 even for a
// million keys), one 8-byte slot read, and for a fingerprint hit one read
// of the key arena to compare the whole key. A slot holds a 16-bit
// fingerprint and the offset of its entry in ONE contiguous arena; an entry
// is an 8-byte header (value, flags, key length) and the key bytes. Misses
// almost never touch the arena. Nothing on the lookup path allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "listgate/base/result.h"
#include "listgate/table/hash.h"

namespace listgate::table {

class PerfectHash {
 public:
  // How keys are hashed: whole, or (tagged) all but their last 4 bytes,
  // with those mixed in afterwards (hash_with_tag), so that a caller can
  // hash a key's body before it knows its tag.
  enum class KeyShape : uint8_t { plain, tagged };

  // What find() answers: the caller's value and 16 bits of caller's flags
  // (stored next to the key, so a lookup needs no further memory access),
  // or "not found". One 64-bit word, so it comes back in a register (see
  // ParsedRecipient in address.h for why that matters).
  class Hit {
   public:
    Hit() = default;  // not found
    Hit(uint32_t value, uint16_t flags) noexcept
        : bits_(uint64_t{value} | (uint64_t{flags} << kFlagsShift) | kFound) {}
    explicit operator bool() const noexcept { return (bits_ & kFound) != 0; }
    uint32_t value() const noexcept { return static_cast<uint32_t>(bits_); }
    uint16_t flags() const noexcept { return static_cast<uint16_t>(bits_ >> kFlagsShift); }

   private:
    static constexpr int kFlagsShift = 32;
    static constexpr uint64_t kFound = uint64_t{1} << 48;
    uint64_t bits_ = 0;
  };

  struct BuildStats {
    uint32_t attempts = 0;   // seeds tried (1 unless a build had to restart)
    uint64_t evictions = 0;  // buckets evicted during the successful attempt
    size_t buckets = 0;
    size_t slots = 0;
  };

  PerfectHash();  // an empty index: every lookup misses

  Hit find(std::string_view key) const noexcept;
  // The same for the key a FoldedKey describes (see hash.h), read straight
  // from the caller's bytes: nothing is copied or lower-cased first.
  [[gnu::always_inline]] Hit find(const FoldedKey& key) const noexcept;

  uint64_t hash_key(std::string_view key) const noexcept;
  uint64_t hash_key(const FoldedKey& key) const noexcept;

  // find() in three steps, for callers that look up many keys at once and
  // want their memory accesses to overlap (in a large table the slot and
  // the entry are each a trip to DRAM): start() hashes the key and
  // prefetches its slot, probe() reads the slot and prefetches the entry
  // if the fingerprint matches, finish() compares the key.
  // find(key) == finish(probe(start(key)), key).
  struct Probe {
    uint64_t hash = 0;
    const uint64_t* slot = nullptr;
  };
  Probe start(const FoldedKey& key) const noexcept;
  const char* probe(const Probe& probe) const noexcept;
  Hit finish(const char* entry, const FoldedKey& key) const noexcept;

  // ORs `flags` into a key's flags; false if the key is absent. For the
  // owner's finishing touches before the index is shared read-only.
  bool add_flags(std::string_view key, uint16_t flags) noexcept;

  // The stored key that `key`'s slot holds when its fingerprint matches
  // `key`'s, whether or not the keys are equal; nullopt otherwise. For
  // tests and diagnostics: find() is this plus the full comparison.
  std::optional<std::string_view> fingerprint_match(std::string_view key) const noexcept;

  size_t size() const noexcept { return key_count_; }
  size_t memory_bytes() const noexcept;
  const BuildStats& build_stats() const noexcept { return stats_; }

  // Calls visit(std::string_view key, Hit hit) for every key, in the order
  // the keys were added.
  template <class Visitor>
  void for_each(Visitor&& visit) const;

 private:
  friend class PerfectHashBuilder;
  friend class PerfectHashPlacement;

  struct EntryHeader {
    uint32_t value;
    uint16_t flags;
    uint16_t key_length;
  };

  static constexpr int kFingerprintShift = 48;
  static constexpr uint64_t kOffsetMask = (uint64_t{1} << kFingerprintShift) - 1;
  // All ones: its fingerprint 0xffff is never produced by fingerprint().
  static constexpr uint64_t kEmptySlot = ~uint64_t{0};
  static constexpr uint16_t kMaxFingerprint = 0xfffe;
  static constexpr uint64_t kDenseThreshold = 0x9999999aull;  // 0.6 * 2^32
  static constexpr uint64_t kPilotMultiplier = 0x517cc1b727220a95ull;
  static constexpr uint64_t kSlotMultiplier = 0x9e3779b97f4a7c15ull;
  // An entry is a header and a short key: two cache lines at most in
  // practice; probe() prefetches the line this far in as well.
  static constexpr size_t kPrefetchSpan = 48;

  static uint64_t fast_range(uint64_t x, uint64_t n) noexcept {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(x) * n) >> 64);
  }
  static uint16_t fingerprint(uint64_t hash) noexcept {
    const auto bits = static_cast<uint16_t>(hash >> 32);
    return bits > kMaxFingerprint ? kMaxFingerprint : bits;
  }
  // Skewed bucket choice: the top half of the hash decides between the
  // dense and the sparse part, the bottom half picks within it.
  uint64_t bucket_of(uint64_t hash) const noexcept {
    const bool dense = (hash >> 32) < kDenseThreshold;
    const uint64_t base = dense ? 0 : dense_buckets_;
    const uint64_t count = dense ? dense_buckets_ : bucket_count_ - dense_buckets_;
    return base + ((hash & 0xffffffffull) * count >> 32);
  }
  static uint64_t slot_of(uint64_t hash, uint8_t pilot, uint64_t slot_count) noexcept {
    return fast_range((hash ^ (pilot * kPilotMultiplier)) * kSlotMultiplier, slot_count);
  }
  const char* entry_at(uint64_t slot_word) const noexcept {
    return arena_.data() + (slot_word & kOffsetMask);
  }
  static EntryHeader header_of(const char* entry) noexcept {
    EntryHeader header;
    std::memcpy(&header, entry, sizeof header);
    return header;
  }
  char* find_entry(std::string_view key) noexcept;

  // memcmp(a, b, n) == 0 without a library call: keys are short, and a
  // call costs more than comparing them a word at a time.
  static bool bytes_equal(const char* a, const char* b, size_t n) noexcept {
    using bytes::read64;
    using bytes::read_partial;
    if (n < 8) return read_partial(a, n) == read_partial(b, n);
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (read64(a + i) != read64(b + i)) return false;
    }
    return read64(a + n - 8) == read64(b + n - 8);
  }
  // Whether `stored` holds the key `key` describes.
  static bool folded_equal(const char* stored, const FoldedKey& key) noexcept {
    using bytes::lowercase_word;
    using bytes::read64;
    using bytes::read_partial;
    const char* bytes = key.bytes;
    const size_t n = key.length;
    if (n < 8) {
      if (read_partial(stored, n) != lowercase_word(read_partial(bytes, n))) return false;
    } else {
      for (size_t i = 0; i + 8 < n; i += 8) {
        if (read64(stored + i) != lowercase_word(read64(bytes + i))) return false;
      }
      if (read64(stored + n - 8) != lowercase_word(read64(bytes + n - 8))) return false;
    }
    return !key.has_tag || bytes::read32(stored + n) == key.tag;
  }
  // The entry `hash` leads to, if its fingerprint matches; nullptr if not.
  const char* candidate(uint64_t hash) const noexcept {
    const uint8_t pilot = pilots_[bucket_of(hash)];
    const uint64_t slot_word = slots_[slot_of(hash, pilot, slot_count_)];
    if ((slot_word >> kFingerprintShift) != fingerprint(hash)) return nullptr;
    return entry_at(slot_word);
  }

  uint64_t seed_ = 0;
  KeyShape shape_ = KeyShape::plain;
  uint64_t bucket_count_ = 0;
  uint64_t dense_buckets_ = 0;
  uint64_t slot_count_ = 0;
  size_t key_count_ = 0;
  std::vector<uint8_t> pilots_;
  std::vector<uint64_t> slots_;
  std::vector<char> arena_;
  BuildStats stats_;
};

// Collects keys (copied into the arena as they come) and builds the index.
class PerfectHashBuilder {
 public:
  static constexpr uint64_t kDefaultSeed = 0x6c697374676174ull;  // "listgat"
  static constexpr size_t kMaxKeyLength = 0xffff;
  static constexpr size_t kMaxKeys = 0xffffffffull - 1;

  // When build() fails because two keys are equal: their indices, in the
  // order they were added.
  struct DuplicateKeys {
    size_t first = 0;
    size_t second = 0;
  };

  explicit PerfectHashBuilder(PerfectHash::KeyShape shape = PerfectHash::KeyShape::plain)
      : shape_(shape) {}

  void reserve(size_t keys, size_t key_bytes);
  // `key` must be at most kMaxKeyLength bytes (longer keys are cut there).
  void add(std::string_view key, uint32_t value, uint16_t flags = 0);
  size_t size() const noexcept { return offsets_.size(); }
  std::string_view key(size_t index) const noexcept;

  // Builds the index. Fails for equal keys (then `duplicate`, if given, says
  // which) and, in theory, when no seed of a bounded number works.
  Result<PerfectHash> build(uint64_t seed = kDefaultSeed,
                            DuplicateKeys* duplicate = nullptr) &&;

 private:
  PerfectHash::KeyShape shape_;
  std::vector<char> arena_;
  std::vector<uint64_t> offsets_;
};

inline PerfectHash::Hit PerfectHash::find(std::string_view key) const noexcept {
  const char* entry = candidate(hash_key(key));
  if (entry == nullptr) return {};
  const EntryHeader header = header_of(entry);
  if (header.key_length != key.size() ||
      !bytes_equal(entry + sizeof(EntryHeader), key.data(), key.size())) {
    return {};
  }
  return Hit{header.value, header.flags};
}

inline PerfectHash::Hit PerfectHash::find(const FoldedKey& key) const noexcept {
  return finish(candidate(hash_key(key)), key);
}

inline PerfectHash::Probe PerfectHash::start(const FoldedKey& key) const noexcept {
  const uint64_t hash = hash_key(key);
  const uint64_t* slot = &slots_[slot_of(hash, pilots_[bucket_of(hash)], slot_count_)];
  __builtin_prefetch(slot);
  return {hash, slot};
}

inline const char* PerfectHash::probe(const Probe& probe) const noexcept {
  const uint64_t slot_word = *probe.slot;
  if ((slot_word >> kFingerprintShift) != fingerprint(probe.hash)) return nullptr;
  const char* entry = entry_at(slot_word);
  __builtin_prefetch(entry);
  __builtin_prefetch(entry + kPrefetchSpan);
  return entry;
}

inline PerfectHash::Hit PerfectHash::finish(const char* entry, const FoldedKey& key) const noexcept {
  if (entry == nullptr) return {};
  const EntryHeader header = header_of(entry);
  if (header.key_length != key.size() || !folded_equal(entry + sizeof(EntryHeader), key)) {
    return {};
  }
  return Hit{header.value, header.flags};
}

inline uint64_t PerfectHash::hash_key(std::string_view key) const noexcept {
  if (shape_ == KeyShape::tagged && key.size() >= FoldedKey::kTagBytes) {
    const size_t body = key.size() - FoldedKey::kTagBytes;
    return hash_with_tag(hash_bytes(key.data(), body, seed_),
                         static_cast<uint32_t>(bytes::read32(key.data() + body)));
  }
  return hash_bytes(key.data(), key.size(), seed_);
}

inline uint64_t PerfectHash::hash_key(const FoldedKey& key) const noexcept {
  if (shape_ == KeyShape::tagged) {
    if (key.has_tag) {
      return hash_with_tag(hash_folded(FoldedKey{key.bytes, key.length, 0, false}, seed_), key.tag);
    }
    if (key.length >= FoldedKey::kTagBytes) {
      // The described string's last 4 bytes are its tag, lower-cased.
      const size_t body = key.length - FoldedKey::kTagBytes;
      const auto tag = static_cast<uint32_t>(bytes::lowercase_word(bytes::read32(key.bytes + body)));
      return hash_with_tag(hash_folded(FoldedKey{key.bytes, body, 0, false}, seed_), tag);
    }
  }
  return hash_folded(key, seed_);
}

template <class Visitor>
void PerfectHash::for_each(Visitor&& visit) const {
  size_t offset = 0;
  while (offset < arena_.size()) {
    const EntryHeader header = header_of(arena_.data() + offset);
    const char* key = arena_.data() + offset + sizeof(EntryHeader);
    visit(std::string_view(key, header.key_length), Hit{header.value, header.flags});
    offset += sizeof(EntryHeader) + header.key_length;
  }
}

}  // namespace listgate::table

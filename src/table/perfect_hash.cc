// perfect_hash.cc - building the PtrHash-style index of perfect_hash.h.
//
// A build attempt hashes every key with the attempt's seed, groups the keys
// by bucket (a counting sort, so the keys of a bucket are adjacent and the
// placement loop reads memory in order), and places the buckets from the
// largest down. The occupied slots are kept as a bitmap (a million slots is
// 128 KiB: the pilot search stays in L2) next to a slot -> bucket array
// that only evictions read. Eviction is PtrHash's: take the pilot whose
// colliding buckets have the smallest sum of squared sizes, never evicting
// one of the last few buckets placed (that would cycle), and queue the
// evicted buckets by size. An attempt that evicts too much, or meets two
// different keys with the same 64-bit hash, restarts with the next seed;
// two equal keys are reported as duplicates.
#include "listgate/table/perfect_hash.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace listgate::table {

namespace {

constexpr double kKeysPerBucket = 3.0;      // PtrHash's lambda
constexpr double kLoadFactor = 0.99;        // PtrHash's alpha: slots = keys / alpha
constexpr double kDenseBucketShare = 0.3;   // of the buckets, taking 60% of the keys
constexpr size_t kMinBuckets = 2;           // one dense and one sparse at least
constexpr int kPilotCount = 256;            // 8-bit pilots
constexpr uint32_t kMaxAttempts = 16;
// A good seed evicts about one bucket per 300 keys; a seed that needs 40
// times that is given up for the next.
constexpr uint64_t kKeysPerEviction = 8;
constexpr uint64_t kEvictionAllowance = 4096;
constexpr size_t kRecentlyPlaced = 16;      // buckets placed by eviction that stay put
constexpr int kPilotBits = 8;
constexpr uint32_t kPilotMask = (1u << kPilotBits) - 1;
constexpr size_t kMaxBucketSize = 255;      // larger means a degenerate seed
constexpr uint32_t kNoBucket = 0xffffffffu;
constexpr uint64_t kSeedStep = 0x9e3779b97f4a7c15ull;
constexpr int kBitsPerWord = 64;

struct Geometry {
  uint64_t bucket_count;
  uint64_t dense_buckets;
  uint64_t slot_count;
};

Geometry geometry_for(size_t key_count) {
  Geometry g{};
  g.bucket_count = std::max<uint64_t>(
      kMinBuckets, static_cast<uint64_t>(std::ceil(static_cast<double>(key_count) / kKeysPerBucket)));
  g.dense_buckets = std::clamp<uint64_t>(
      static_cast<uint64_t>(static_cast<double>(g.bucket_count) * kDenseBucketShare), 1,
      g.bucket_count - 1);
  g.slot_count = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(static_cast<double>(key_count) / kLoadFactor)));
  g.slot_count = std::max<uint64_t>(g.slot_count, key_count);
  return g;
}

bool has_equal_pair(const uint64_t* values, size_t count) noexcept {
  for (size_t i = 1; i < count; ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (values[i] == values[j]) return true;
    }
  }
  return false;
}

}  // namespace

// One build attempt with one seed; a friend of PerfectHash for its hashing
// functions, so build and lookup cannot disagree.
class PerfectHashPlacement {
 public:
  enum class Outcome { placed, retry, duplicate };

  PerfectHashPlacement(const std::vector<char>& arena, const std::vector<uint64_t>& offsets,
                       uint64_t seed, PerfectHash::KeyShape key_shape)
      : arena_(arena), offsets_(offsets) {
    const Geometry g = geometry_for(offsets.size());
    shape_.seed_ = seed;
    shape_.shape_ = key_shape;
    shape_.bucket_count_ = g.bucket_count;
    shape_.dense_buckets_ = g.dense_buckets;
    shape_.slot_count_ = g.slot_count;
  }

  Outcome run(PerfectHashBuilder::DuplicateKeys* duplicate) {
    if (!group_by_bucket(duplicate)) return outcome_;
    if (!place_all()) return Outcome::retry;
    return Outcome::placed;
  }

  // Moves the result into `index` (after run() returned placed).
  void finish(PerfectHash& index, std::vector<char>&& arena) {
    index.seed_ = shape_.seed_;
    index.shape_ = shape_.shape_;
    index.bucket_count_ = shape_.bucket_count_;
    index.dense_buckets_ = shape_.dense_buckets_;
    index.slot_count_ = shape_.slot_count_;
    index.key_count_ = offsets_.size();
    index.slots_.assign(shape_.slot_count_, PerfectHash::kEmptySlot);
    for (uint64_t bucket = 0; bucket < shape_.bucket_count_; ++bucket) {
      const uint8_t pilot = pilots_[bucket];
      for (uint32_t i = bucket_begin_[bucket]; i < bucket_begin_[bucket + 1]; ++i) {
        const uint64_t hash = sorted_hashes_[i];
        const uint64_t slot = PerfectHash::slot_of(hash, pilot, shape_.slot_count_);
        index.slots_[slot] = (uint64_t{PerfectHash::fingerprint(hash)} << PerfectHash::kFingerprintShift) |
                             offsets_[sorted_keys_[i]];
      }
    }
    index.pilots_ = std::move(pilots_);
    index.arena_ = std::move(arena);
    index.stats_.evictions = evictions_;
    index.stats_.buckets = shape_.bucket_count_;
    index.stats_.slots = shape_.slot_count_;
  }

 private:
  std::string_view key(size_t index) const noexcept {
    const PerfectHash::EntryHeader header = PerfectHash::header_of(arena_.data() + offsets_[index]);
    return {arena_.data() + offsets_[index] + sizeof header, header.key_length};
  }

  uint32_t bucket_size(uint64_t bucket) const noexcept {
    return bucket_begin_[bucket + 1] - bucket_begin_[bucket];
  }

  // Hashes every key and sorts the keys by bucket, each bucket by hash.
  bool group_by_bucket(PerfectHashBuilder::DuplicateKeys* duplicate) {
    const size_t key_count = offsets_.size();
    std::vector<uint64_t> hashes(key_count);
    std::vector<uint32_t> key_bucket(key_count);
    bucket_begin_.assign(shape_.bucket_count_ + 1, 0);
    for (size_t i = 0; i < key_count; ++i) {
      const std::string_view k = key(i);
      hashes[i] = shape_.hash_key(k);
      key_bucket[i] = static_cast<uint32_t>(shape_.bucket_of(hashes[i]));
      ++bucket_begin_[key_bucket[i] + 1];
    }
    for (uint64_t b = 0; b < shape_.bucket_count_; ++b) bucket_begin_[b + 1] += bucket_begin_[b];
    sorted_hashes_.resize(key_count);
    sorted_keys_.resize(key_count);
    std::vector<uint32_t> cursor(bucket_begin_.begin(), bucket_begin_.end() - 1);
    for (size_t i = 0; i < key_count; ++i) {
      const uint32_t position = cursor[key_bucket[i]]++;
      sorted_hashes_[position] = hashes[i];
      sorted_keys_[position] = static_cast<uint32_t>(i);
    }
    for (uint64_t b = 0; b < shape_.bucket_count_; ++b) {
      const uint32_t begin = bucket_begin_[b];
      const uint32_t size = bucket_size(b);
      if (size > kMaxBucketSize) {
        outcome_ = Outcome::retry;
        return false;
      }
      // Insertion sort by hash: buckets hold a handful of keys.
      for (uint32_t i = begin + 1; i < begin + size; ++i) {
        for (uint32_t j = i; j > begin && sorted_hashes_[j - 1] > sorted_hashes_[j]; --j) {
          std::swap(sorted_hashes_[j - 1], sorted_hashes_[j]);
          std::swap(sorted_keys_[j - 1], sorted_keys_[j]);
        }
      }
      for (uint32_t i = begin + 1; i < begin + size; ++i) {
        if (sorted_hashes_[i] != sorted_hashes_[i - 1]) continue;
        const uint32_t a = sorted_keys_[i - 1];
        const uint32_t c = sorted_keys_[i];
        if (key(a) == key(c)) {
          if (duplicate != nullptr) *duplicate = {std::min(a, c), std::max(a, c)};
          outcome_ = Outcome::duplicate;
        } else {
          outcome_ = Outcome::retry;  // a true 64-bit collision: another seed
        }
        return false;
      }
    }
    return true;
  }

  bool is_taken(uint64_t slot) const noexcept {
    return (taken_[slot / kBitsPerWord] >> (slot % kBitsPerWord)) & 1;
  }

  // The slots of `bucket`'s keys under `pilot`; false if two coincide.
  bool slots_for(uint64_t bucket, uint8_t pilot, uint64_t* slots) const noexcept {
    const uint64_t* hashes = sorted_hashes_.data() + bucket_begin_[bucket];
    const uint32_t size = bucket_size(bucket);
    for (uint32_t i = 0; i < size; ++i) {
      slots[i] = PerfectHash::slot_of(hashes[i], pilot, shape_.slot_count_);
    }
    return !has_equal_pair(slots, size);
  }

  // A pilot under which every key of `bucket` lands on a free slot, if any.
  std::optional<uint8_t> free_pilot(uint64_t bucket, uint64_t* slots) const noexcept {
    const uint64_t* hashes = sorted_hashes_.data() + bucket_begin_[bucket];
    const uint32_t size = bucket_size(bucket);
    for (int p = 0; p < kPilotCount; ++p) {
      const auto pilot = static_cast<uint8_t>(p);
      bool free = true;
      for (uint32_t i = 0; i < size; ++i) {
        slots[i] = PerfectHash::slot_of(hashes[i], pilot, shape_.slot_count_);
        if (is_taken(slots[i])) {
          free = false;
          break;
        }
      }
      if (free && !has_equal_pair(slots, size)) return pilot;
    }
    return std::nullopt;
  }

  void assign(uint64_t bucket, uint8_t pilot, const uint64_t* slots) noexcept {
    pilots_[bucket] = pilot;
    for (uint32_t i = 0; i < bucket_size(bucket); ++i) {
      taken_[slots[i] / kBitsPerWord] |= uint64_t{1} << (slots[i] % kBitsPerWord);
      owner_[slots[i]] = static_cast<uint32_t>(bucket);
      occupant_size_[slots[i]] = static_cast<uint8_t>(bucket_size(bucket));
    }
  }

  void evict(uint64_t bucket) {
    const uint64_t* hashes = sorted_hashes_.data() + bucket_begin_[bucket];
    for (uint32_t i = 0; i < bucket_size(bucket); ++i) {
      const uint64_t slot = PerfectHash::slot_of(hashes[i], pilots_[bucket], shape_.slot_count_);
      taken_[slot / kBitsPerWord] &= ~(uint64_t{1} << (slot % kBitsPerWord));
      owner_[slot] = kNoBucket;
      occupant_size_[slot] = 0;
    }
    pending_.push_back((uint64_t{bucket_size(bucket)} << 32) | bucket);
    std::push_heap(pending_.begin(), pending_.end());
  }

  bool recently_placed(uint32_t bucket) const noexcept {
    return std::find(recent_.begin(), recent_.end(), bucket) != recent_.end();
  }

  // What placing with `slots` would evict: the squared sizes of the
  // buckets in the way, summed per slot (a bucket in the way of two slots
  // counts twice; rare, and only an over-estimate). Reads one byte per
  // taken slot and none of the slot -> bucket array, so scanning all
  // pilots stays in cache.
  uint32_t eviction_cost(const uint64_t* slots, uint32_t size) const noexcept {
    uint32_t cost = 0;
    for (uint32_t i = 0; i < size; ++i) {
      const uint32_t occupant = occupant_size_[slots[i]];
      cost += occupant * occupant;
    }
    return cost;
  }

  // The buckets in the way of `slots`, each once, into victims_; false if
  // one of them was placed too recently to be evicted again.
  bool collect_victims(const uint64_t* slots, uint32_t size) {
    victims_.clear();
    for (uint32_t i = 0; i < size; ++i) {
      if (!is_taken(slots[i])) continue;
      const uint32_t victim = owner_[slots[i]];
      if (recently_placed(victim)) return false;
      if (std::find(victims_.begin(), victims_.end(), victim) == victims_.end()) {
        victims_.push_back(victim);
      }
    }
    return true;
  }

  // Places `bucket` with the pilot that evicts least. False if no pilot can.
  bool place_by_eviction(uint64_t bucket, uint64_t* slots) {
    const uint32_t size = bucket_size(bucket);
    // Cost and pilot of every usable pilot, packed as cost << 8 | pilot.
    // Starting at a different pilot each time breaks ties differently, so
    // repeated evictions around one spot do not keep choosing alike.
    std::array<uint32_t, kPilotCount> candidates;
    size_t candidate_count = 0;
    const auto start = static_cast<int>((evictions_ * kSeedStep) >> 56);
    for (int step = 0; step < kPilotCount; ++step) {
      const auto pilot = static_cast<uint8_t>((start + step) % kPilotCount);
      if (!slots_for(bucket, pilot, slots)) continue;
      candidates[candidate_count++] = (eviction_cost(slots, size) << kPilotBits) | pilot;
    }
    // Cheapest first; skip a pilot that would evict a recently placed bucket.
    while (candidate_count > 0) {
      size_t best = 0;
      for (size_t i = 1; i < candidate_count; ++i) {
        if (candidates[i] < candidates[best]) best = i;
      }
      const auto pilot = static_cast<uint8_t>(candidates[best] & kPilotMask);
      candidates[best] = candidates[--candidate_count];
      slots_for(bucket, pilot, slots);
      if (!collect_victims(slots, size)) continue;
      for (const uint32_t victim : victims_) evict(victim);
      assign(bucket, pilot, slots);
      recent_[recent_next_++ % kRecentlyPlaced] = static_cast<uint32_t>(bucket);
      return true;
    }
    return false;
  }

  bool place_all() {
    const uint64_t bucket_count = shape_.bucket_count_;
    // Buckets by size, largest first (a counting sort: sizes are small).
    std::vector<uint32_t> order(bucket_count);
    {
      std::vector<uint32_t> start(kMaxBucketSize + 2, 0);
      for (uint64_t b = 0; b < bucket_count; ++b) ++start[kMaxBucketSize - bucket_size(b) + 1];
      for (size_t s = 1; s < start.size(); ++s) start[s] += start[s - 1];
      for (uint64_t b = 0; b < bucket_count; ++b) {
        order[start[kMaxBucketSize - bucket_size(b)]++] = static_cast<uint32_t>(b);
      }
    }
    pilots_.assign(bucket_count, 0);
    taken_.assign((shape_.slot_count_ + kBitsPerWord - 1) / kBitsPerWord, 0);
    owner_.assign(shape_.slot_count_, kNoBucket);
    occupant_size_.assign(shape_.slot_count_, 0);
    recent_.fill(kNoBucket);
    const uint64_t eviction_budget = offsets_.size() / kKeysPerEviction + kEvictionAllowance;
    std::array<uint64_t, kMaxBucketSize> slots{};

    size_t next = 0;
    while (true) {
      uint64_t bucket;
      if (!pending_.empty() &&
          (next == order.size() || (pending_.front() >> 32) >= bucket_size(order[next]))) {
        std::pop_heap(pending_.begin(), pending_.end());
        bucket = pending_.back() & 0xffffffffull;
        pending_.pop_back();
      } else if (next < order.size()) {
        bucket = order[next++];
      } else {
        break;
      }
      if (bucket_size(bucket) == 0) break;  // the rest are empty too
      if (const auto pilot = free_pilot(bucket, slots.data())) {
        assign(bucket, *pilot, slots.data());
        continue;
      }
      if (++evictions_ > eviction_budget) return false;
      if (!place_by_eviction(bucket, slots.data())) return false;
    }
    return true;
  }

  const std::vector<char>& arena_;
  const std::vector<uint64_t>& offsets_;
  PerfectHash shape_;  // only its seed and geometry, for hash_key() and bucket_of()
  Outcome outcome_ = Outcome::placed;

  std::vector<uint32_t> bucket_begin_;
  std::vector<uint64_t> sorted_hashes_;
  std::vector<uint32_t> sorted_keys_;
  std::vector<uint8_t> pilots_;
  std::vector<uint64_t> taken_;
  std::vector<uint32_t> owner_;
  std::vector<uint64_t> pending_;  // max-heap of (size << 32 | bucket)
  std::vector<uint32_t> victims_;
  std::vector<uint8_t> occupant_size_;  // per slot: size of the bucket there, 0 if free
  std::array<uint32_t, kRecentlyPlaced> recent_{};  // buckets placed by the last evictions
  size_t recent_next_ = 0;
  uint64_t evictions_ = 0;
};

PerfectHash::PerfectHash() {
  const Geometry g = geometry_for(0);
  bucket_count_ = g.bucket_count;
  dense_buckets_ = g.dense_buckets;
  slot_count_ = g.slot_count;
  pilots_.assign(bucket_count_, 0);
  slots_.assign(slot_count_, kEmptySlot);
}

char* PerfectHash::find_entry(std::string_view key) noexcept {
  const char* entry = candidate(hash_key(key));
  if (entry == nullptr) return nullptr;
  const EntryHeader header = header_of(entry);
  if (header.key_length != key.size() ||
      !bytes_equal(entry + sizeof(EntryHeader), key.data(), key.size())) {
    return nullptr;
  }
  return arena_.data() + (entry - arena_.data());
}

std::optional<std::string_view> PerfectHash::fingerprint_match(std::string_view key) const noexcept {
  const char* entry = candidate(hash_key(key));
  if (entry == nullptr) return std::nullopt;
  return std::string_view(entry + sizeof(EntryHeader), header_of(entry).key_length);
}

bool PerfectHash::add_flags(std::string_view key, uint16_t flags) noexcept {
  char* entry = find_entry(key);
  if (entry == nullptr) return false;
  EntryHeader header = header_of(entry);
  header.flags |= flags;
  std::memcpy(entry, &header, sizeof header);
  return true;
}

size_t PerfectHash::memory_bytes() const noexcept {
  return pilots_.capacity() + slots_.capacity() * sizeof(uint64_t) + arena_.capacity();
}

void PerfectHashBuilder::reserve(size_t keys, size_t key_bytes) {
  offsets_.reserve(keys);
  arena_.reserve(key_bytes + keys * sizeof(PerfectHash::EntryHeader));
}

void PerfectHashBuilder::add(std::string_view key, uint32_t value, uint16_t flags) {
  if (key.size() > kMaxKeyLength) key = key.substr(0, kMaxKeyLength);
  const PerfectHash::EntryHeader header{value, flags, static_cast<uint16_t>(key.size())};
  const size_t offset = arena_.size();
  offsets_.push_back(offset);
  arena_.resize(offset + sizeof header + key.size());
  std::memcpy(arena_.data() + offset, &header, sizeof header);
  std::memcpy(arena_.data() + offset + sizeof header, key.data(), key.size());
}

std::string_view PerfectHashBuilder::key(size_t index) const noexcept {
  const PerfectHash::EntryHeader header = PerfectHash::header_of(arena_.data() + offsets_[index]);
  return {arena_.data() + offsets_[index] + sizeof header, header.key_length};
}

Result<PerfectHash> PerfectHashBuilder::build(uint64_t seed, DuplicateKeys* duplicate) && {
  if (offsets_.size() > kMaxKeys) {
    return make_error("perfect hash: too many keys (" + std::to_string(offsets_.size()) + ")");
  }
  for (uint32_t attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const uint64_t attempt_seed = seed + attempt * kSeedStep;
    PerfectHashPlacement placement(arena_, offsets_, attempt_seed, shape_);
    switch (placement.run(duplicate)) {
      case PerfectHashPlacement::Outcome::placed: {
        PerfectHash index;
        placement.finish(index, std::move(arena_));
        index.stats_.attempts = attempt + 1;
        offsets_.clear();
        return index;
      }
      case PerfectHashPlacement::Outcome::duplicate:
        return make_error("perfect hash: duplicate key");
      case PerfectHashPlacement::Outcome::retry:
        break;
    }
  }
  return make_error("perfect hash: no seed worked in " + std::to_string(kMaxAttempts) +
                    " attempts");
}

}  // namespace listgate::table

// slicings.h - one byte string as many different slice chains, for tests of
// code that reads a body in place: the answer must not depend on where the
// slices of a received body end.
#pragma once

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/concat.h"
#include "listgate/io/buffer.h"

namespace listgate::testing {

inline constexpr uint32_t kSliceOffset = 3;  // pieces start inside their buffers, as received bytes do

// `bytes` cut at the ascending positions `cuts`; with `empties`, an empty
// slice follows every piece. Buffers are filled with LF first, so reading
// past a slice would show up as extra lines.
inline io::SliceChain chain_cut(io::BufferPool& pool, std::string_view bytes, const std::vector<size_t>& cuts,
                                bool empties) {
  io::SliceChain chain;
  const auto add = [&](std::string_view piece) {
    while (!piece.empty()) {
      io::BufferRef ref = pool.acquire();
      std::memset(ref->data(), '\n', ref->capacity());
      const uint32_t n = static_cast<uint32_t>(std::min<size_t>(piece.size(), ref->capacity() - kSliceOffset));
      std::memcpy(ref->data() + kSliceOffset, piece.data(), n);
      chain.push_back(io::Slice{ref, kSliceOffset, n});
      piece.remove_prefix(n);
    }
    if (empties) chain.push_back(io::Slice{pool.acquire(), kSliceOffset, 0});
  };
  size_t at = 0;
  for (size_t cut : cuts) {
    add(bytes.substr(at, cut - at));
    at = cut;
  }
  add(bytes.substr(at));
  return chain;
}

// Calls check(chain, how) for every slicing of `bytes` until it returns
// false: pool-sized pieces, each single cut, one byte per slice, and random
// cuts with empty slices between.
template <class Check>
void for_each_slicing(std::string_view bytes, Check check) {
  io::BufferPool small(64);
  io::BufferPool large(4096);
  if (!check(io::copy_into_pool(small, bytes), std::string("pool of 64-byte buffers"))) return;
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    if (!check(chain_cut(large, bytes, {cut}, false), concat({"cut at ", std::to_string(cut)}))) return;
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < bytes.size(); ++i) every.push_back(i);
  if (!check(chain_cut(large, bytes, every, true), std::string("one byte per slice"))) return;
  std::mt19937 rng(20261125);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> cuts(1 + rng() % 12);
    for (size_t& c : cuts) c = bytes.empty() ? 0 : rng() % bytes.size();
    std::sort(cuts.begin(), cuts.end());
    std::string how = "random cuts";
    for (size_t c : cuts) how += concat({" ", std::to_string(c)});
    if (!check(chain_cut(large, bytes, cuts, round % 2 == 0), how)) return;
  }
}

}  // namespace listgate::testing

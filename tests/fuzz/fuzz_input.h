// fuzz_input.h - the input layout the protocol fuzzers share: byte 0 holds
// flags for the target, byte 1 the number of split sizes that follow
// (1..kMaxSplits), then the split sizes (1..256 each), then the bytes to feed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace listgate::fuzzing {

inline constexpr size_t kHeader = 2;
inline constexpr size_t kMaxSplits = 16;

struct FuzzInput {
  uint8_t flags = 0;
  std::vector<size_t> splits;
  std::string_view bytes;
};

// nullopt when the input is too short to hold its own header.
inline std::optional<FuzzInput> decode_fuzz_input(const uint8_t* data, size_t size) {
  if (size < kHeader) return std::nullopt;
  FuzzInput in;
  in.flags = data[0];
  const size_t nsplits = 1 + data[1] % kMaxSplits;
  if (size < kHeader + nsplits) return std::nullopt;
  for (size_t i = 0; i < nsplits; ++i) in.splits.push_back(1 + data[kHeader + i]);
  in.bytes = std::string_view(reinterpret_cast<const char*>(data) + kHeader + nsplits, size - kHeader - nsplits);
  return in;
}

}  // namespace listgate::fuzzing

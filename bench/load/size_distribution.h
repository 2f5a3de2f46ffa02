// size_distribution.h - the message sizes of a load run (`--size`).
//
//   4096        every message 4096 bytes
//   1k:64k      uniform between 1 KiB and 64 KiB (inclusive)
//   1k,4k,64k   one of these, each equally likely (repeat one to weigh it)
//
// k/K = 1024, m/M = 1024*1024. A size counts the message as the client has
// it (headers, empty line, body, CRLFs), without the final ".\r\n".
// The load generator builds every variant() once and picks one per message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/result.h"

namespace listgate::loadbench {

// Smallest message: the generated header block must fit.
inline constexpr uint64_t kMinMessageSize = 300;
// Largest message (listgate's default max_message_size is 50 MiB).
inline constexpr uint64_t kMaxMessageSize = uint64_t{64} << 20;
// Prebuilt bytes of all variants together stay under this.
inline constexpr uint64_t kMaxPrebuiltBytes = uint64_t{512} << 20;
// Distinct sizes prebuilt for a range.
inline constexpr size_t kRangeVariants = 64;

struct SizeDistribution {
  enum class Kind { fixed, uniform, list };
  Kind kind = Kind::fixed;
  uint64_t low = 4096;            // fixed: the size; uniform: the bounds
  uint64_t high = 4096;
  std::vector<uint64_t> values;   // list: the sizes, in the given order

  // The sizes to prebuild; drawing one of them uniformly gives the
  // distribution. A range becomes up to kRangeVariants evenly spaced sizes
  // from low to high (fewer when they would not fit kMaxPrebuiltBytes), so
  // the mean is (low + high) / 2 to within a byte.
  std::vector<uint64_t> variants() const;
  uint64_t largest() const;
  // As written on the command line, normalized ("4096", "1024:65536", "1024,4096").
  std::string describe() const;
};

// One size: digits with an optional k/K or m/M suffix.
Result<uint64_t> parse_byte_size(std::string_view text);
Result<SizeDistribution> parse_size_distribution(std::string_view text);

}  // namespace listgate::loadbench

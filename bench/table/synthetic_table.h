// synthetic_table.h - list tables and recipient streams for the benchmarks.
//
// Lists get realistic names (words joined by dashes and dots, some with
// numbers, a few ending in role words), spread over sixteen domains, two of
// them with alias domains; one list in ten has a backend. The recipients
// are what an MTA would send: mixed case, role addresses, VERP tags, alias
// domains; the misses are near misses (unknown names in known domains,
// unknown roles, unknown domains). Everything is seeded: runs compare.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace listgate::bench {

struct SyntheticTable {
  std::string json;                    // the table file
  std::vector<std::string> addresses;  // the list addresses, lower case
};

SyntheticTable make_synthetic_table(size_t list_count, uint64_t seed);

// Recipient addresses in one contiguous buffer, in random order.
struct RecipientStream {
  std::string bytes;
  std::vector<std::string_view> addresses;
};

// `count` recipients that name existing lists (posting or a role).
RecipientStream make_hits(const SyntheticTable& table, size_t count, uint64_t seed);
// `count` recipients that name no list.
RecipientStream make_misses(const SyntheticTable& table, size_t count, uint64_t seed);

}  // namespace listgate::bench

// bench_table.cc - list table lookups and builds, against std::unordered_map
// and BBHash in the same run.
//
// Lookups go through resolve_recipient() for all three indexes, so each
// one pays the same normalisation (copy, lower-case, split, alias, role
// rules) and only the index differs. Recipients come in random order from
// a stream of a million addresses (tens of MB, beyond the caches) at every
// table size, so at a million lists every lookup goes to memory. Each
// lookup benchmark reports its time per lookup (throughput) and the
// per-call latency percentiles p50_ns and p99_ns.
#include <benchmark/benchmark.h>

#include <map>
#include <span>
#include <memory>
#include <stdexcept>

#include "baseline_indexes.h"
#include "latency_sampler.h"
#include "listgate/table/loader.h"
#include "listgate/table/recipient_rules.h"
#include "synthetic_table.h"

namespace listgate::bench {
namespace {

using table::Resolution;
using table::Verdict;

constexpr uint64_t kTableSeed = 2024;
constexpr uint64_t kHitSeed = 7;
constexpr uint64_t kMissSeed = 8;
constexpr size_t kRecipients = 1'000'000;
constexpr size_t kLatencySamples = 200'000;
constexpr size_t kBatchSize = 32;  // recipients per resolve_batch() call
constexpr int64_t kSmall = 1'000;
constexpr int64_t kMedium = 100'000;
constexpr int64_t kLarge = 1'000'000;
constexpr int kBuildRepetitions = 3;

struct Fixture {
  SyntheticTable synthetic;
  table::TablePtr table;
  std::unique_ptr<UnorderedIndex> unordered_domains;
  std::unique_ptr<UnorderedIndex> unordered_lists;
  std::unique_ptr<BBHashIndex> bbhash_domains;
  std::unique_ptr<BBHashIndex> bbhash_lists;
  RecipientStream hits;
  RecipientStream misses;
};

struct WithPerfectHash {
  const Fixture& f;
  Resolution operator()(std::string_view address) const { return f.table->resolve(address); }
};
struct WithUnorderedMap {
  const Fixture& f;
  Resolution operator()(std::string_view address) const {
    return table::resolve_recipient(address, f.table->verp_delimiter(), *f.unordered_domains,
                                    *f.unordered_lists);
  }
};
struct WithBBHash {
  const Fixture& f;
  Resolution operator()(std::string_view address) const {
    return table::resolve_recipient(address, f.table->verp_delimiter(), *f.bbhash_domains,
                                    *f.bbhash_lists);
  }
};

// Every index must give every recipient the table's own answer.
template <class Resolve>
void check_agreement(const Fixture& f, Resolve resolve, const char* name) {
  for (const RecipientStream* stream : {&f.hits, &f.misses}) {
    for (const std::string_view address : stream->addresses) {
      const Resolution expected = f.table->resolve(address);
      const Resolution got = resolve(address);
      if (got.verdict != expected.verdict || got.role != expected.role ||
          got.list != expected.list || got.relay != expected.relay) {
        throw std::runtime_error(std::string(name) + " disagrees on " + std::string(address));
      }
    }
  }
}

std::unique_ptr<Fixture> make_fixture(size_t list_count) {
  auto f = std::make_unique<Fixture>();
  f->synthetic = make_synthetic_table(list_count, kTableSeed);
  Result<table::TablePtr> loaded = table::parse_table(f->synthetic.json, "synthetic.json", {});
  if (!loaded) throw std::runtime_error(loaded.error().message);
  f->table = loaded.value();
  f->unordered_domains = std::make_unique<UnorderedIndex>(f->table->domain_index());
  f->unordered_lists = std::make_unique<UnorderedIndex>(f->table->list_index());
  f->bbhash_domains = std::make_unique<BBHashIndex>(f->table->domain_index());
  f->bbhash_lists = std::make_unique<BBHashIndex>(f->table->list_index());
  f->hits = make_hits(f->synthetic, kRecipients, kHitSeed);
  // Keep only misses that really miss (a random name can name a role).
  RecipientStream candidates = make_misses(f->synthetic, kRecipients, kMissSeed);
  f->misses.bytes = std::move(candidates.bytes);
  for (const std::string_view address : candidates.addresses) {
    if (f->table->resolve(address).verdict != Verdict::accept) f->misses.addresses.push_back(address);
  }
  for (const std::string_view address : f->hits.addresses) {
    if (f->table->resolve(address).verdict != Verdict::accept) {
      throw std::runtime_error("hit refused: " + std::string(address));
    }
  }
  check_agreement(*f, WithUnorderedMap{*f}, "unordered_map");
  check_agreement(*f, WithBBHash{*f}, "BBHash");
  return f;
}

const Fixture& fixture(int64_t list_count) {
  static std::map<int64_t, std::unique_ptr<Fixture>> fixtures;
  auto& slot = fixtures[list_count];
  if (!slot) slot = make_fixture(static_cast<size_t>(list_count));
  return *slot;
}

template <class Resolver, bool kHits>
void run_lookups(benchmark::State& state) {
  const Fixture& f = fixture(state.range(0));
  const Resolver resolve{f};
  const std::vector<std::string_view>& recipients = kHits ? f.hits.addresses : f.misses.addresses;
  size_t next = 0;
  size_t accepted = 0;
  for (auto _ : state) {
    const Resolution r = resolve(recipients[next]);
    accepted += r.verdict == Verdict::accept ? 1 : 0;
    if (++next == recipients.size()) next = 0;
  }
  benchmark::DoNotOptimize(accepted);
  const size_t offset = next;
  const LatencyPercentiles latency = LatencySampler::sample(kLatencySamples, [&](size_t i) {
    const Resolution r = resolve(recipients[(offset + i) % recipients.size()]);
    benchmark::DoNotOptimize(r);
  });
  state.counters["p50_ns"] = latency.p50_ns;
  state.counters["p99_ns"] = latency.p99_ns;
  state.SetItemsProcessed(state.iterations());
}

// ListTable::resolve_batch over batches of kBatchSize recipients (the RCPTs
// of a pipelined transaction); time and percentiles are per recipient.
template <bool kHits>
void run_batched_lookups(benchmark::State& state) {
  const Fixture& f = fixture(state.range(0));
  const std::vector<std::string_view>& recipients = kHits ? f.hits.addresses : f.misses.addresses;
  std::vector<Resolution> results(kBatchSize);
  size_t next = 0;
  size_t accepted = 0;
  for (auto _ : state) {
    if (next + kBatchSize > recipients.size()) next = 0;
    f.table->resolve_batch(std::span(recipients).subspan(next, kBatchSize), results);
    accepted += results[0].verdict == Verdict::accept ? 1 : 0;
    next += kBatchSize;
  }
  benchmark::DoNotOptimize(accepted);
  const size_t offset = next;
  const LatencyPercentiles latency = LatencySampler::sample(kLatencySamples / kBatchSize, [&](size_t i) {
    const size_t at = (offset + i * kBatchSize) % (recipients.size() - kBatchSize);
    f.table->resolve_batch(std::span(recipients).subspan(at, kBatchSize), results);
    benchmark::DoNotOptimize(results.data());
  });
  state.counters["p50_ns"] = latency.p50_ns / kBatchSize;
  state.counters["p99_ns"] = latency.p99_ns / kBatchSize;
  state.SetItemsProcessed(state.iterations() * kBatchSize);
  state.counters["per_recipient"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBatchSize),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_LookupHit_PerfectHash(benchmark::State& s) { run_lookups<WithPerfectHash, true>(s); }
void BM_LookupHitBatch_PerfectHash(benchmark::State& s) { run_batched_lookups<true>(s); }
void BM_LookupMissBatch_PerfectHash(benchmark::State& s) { run_batched_lookups<false>(s); }
void BM_LookupHit_UnorderedMap(benchmark::State& s) { run_lookups<WithUnorderedMap, true>(s); }
void BM_LookupHit_BBHash(benchmark::State& s) { run_lookups<WithBBHash, true>(s); }
void BM_LookupMiss_PerfectHash(benchmark::State& s) { run_lookups<WithPerfectHash, false>(s); }
void BM_LookupMiss_UnorderedMap(benchmark::State& s) { run_lookups<WithUnorderedMap, false>(s); }
void BM_LookupMiss_BBHash(benchmark::State& s) { run_lookups<WithBBHash, false>(s); }

// The whole load: JSON text in memory to a ready table.
void BM_BuildTableFromJson(benchmark::State& state) {
  const SyntheticTable& synthetic = fixture(state.range(0)).synthetic;
  table::TableStats stats;
  for (auto _ : state) {
    Result<table::TablePtr> loaded = table::parse_table(synthetic.json, "synthetic.json", {});
    if (!loaded) {
      state.SkipWithError(loaded.error().message.c_str());
      return;
    }
    stats = loaded.value()->stats();
  }
  state.counters["parse_ms"] = std::chrono::duration<double, std::milli>(stats.parse_time).count();
  state.counters["hash_ms"] = std::chrono::duration<double, std::milli>(stats.hash_build_time).count();
  state.counters["json_MB"] = static_cast<double>(synthetic.json.size()) / 1e6;
  state.counters["table_MB"] = static_cast<double>(stats.memory_bytes) / 1e6;
}

// The list perfect hash alone, from keys already in memory.
void BM_BuildPerfectHash(benchmark::State& state) {
  const table::PerfectHash& source = fixture(state.range(0)).table->list_index();
  uint64_t evictions = 0;
  for (auto _ : state) {
    state.PauseTiming();
    table::PerfectHashBuilder builder;
    builder.reserve(source.size(), source.memory_bytes());
    source.for_each([&](std::string_view key, table::PerfectHash::Hit hit) {
      builder.add(key, hit.value(), hit.flags());
    });
    state.ResumeTiming();
    Result<table::PerfectHash> index = std::move(builder).build();
    if (!index) {
      state.SkipWithError(index.error().message.c_str());
      return;
    }
    evictions = index->build_stats().evictions;
    benchmark::DoNotOptimize(index);
  }
  state.counters["evictions"] = static_cast<double>(evictions);
}

void BM_BuildUnorderedMap(benchmark::State& state) {
  const table::PerfectHash& source = fixture(state.range(0)).table->list_index();
  for (auto _ : state) {
    UnorderedIndex index(source);
    benchmark::DoNotOptimize(index);
  }
}

void BM_BuildBBHash(benchmark::State& state) {
  const table::PerfectHash& source = fixture(state.range(0)).table->list_index();
  for (auto _ : state) {
    BBHashIndex index(source);
    benchmark::DoNotOptimize(index);
  }
}

#define LOOKUP_SIZES Arg(kSmall)->Arg(kMedium)->Arg(kLarge)
BENCHMARK(BM_LookupHit_PerfectHash)->LOOKUP_SIZES;
BENCHMARK(BM_LookupHit_UnorderedMap)->LOOKUP_SIZES;
BENCHMARK(BM_LookupHit_BBHash)->LOOKUP_SIZES;
BENCHMARK(BM_LookupHitBatch_PerfectHash)->LOOKUP_SIZES;
BENCHMARK(BM_LookupMiss_PerfectHash)->LOOKUP_SIZES;
BENCHMARK(BM_LookupMiss_UnorderedMap)->LOOKUP_SIZES;
BENCHMARK(BM_LookupMiss_BBHash)->LOOKUP_SIZES;
BENCHMARK(BM_LookupMissBatch_PerfectHash)->LOOKUP_SIZES;
// A build runs once per repetition; three repetitions give a median that
// a noisy machine moves less than a single run.
#define BUILD_RUN Arg(kLarge)->Unit(benchmark::kMillisecond)->Repetitions(kBuildRepetitions)->ReportAggregatesOnly(true)
BENCHMARK(BM_BuildTableFromJson)->BUILD_RUN;
BENCHMARK(BM_BuildPerfectHash)->BUILD_RUN;
BENCHMARK(BM_BuildUnorderedMap)->BUILD_RUN;
BENCHMARK(BM_BuildBBHash)->BUILD_RUN;

}  // namespace
}  // namespace listgate::bench

BENCHMARK_MAIN();

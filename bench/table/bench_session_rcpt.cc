// bench_session_rcpt.cc - RCPT handling through the LMTP session against a
// real table, as an MTA drives it: pipelined groups of RCPTs (resolved in
// one batch by the session) and one RCPT per round trip (resolved alone).
// Reports the time per RCPT, parsing and the reply included.
#include <benchmark/benchmark.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "listgate/io/buffer.h"
#include "listgate/lmtp/session.h"
#include "listgate/table/loader.h"
#include "synthetic_table.h"

namespace listgate::bench {
namespace {

constexpr uint64_t kTableSeed = 2024;
constexpr uint64_t kHitSeed = 7;
constexpr size_t kRecipients = 1'000'000;
constexpr size_t kRcptsPerTransaction = 32;

struct Setup {
  table::TablePtr table;
  RecipientStream hits;
};

const Setup& setup(size_t lists) {
  static std::unique_ptr<Setup> cached;
  static size_t cached_lists = 0;
  if (!cached || cached_lists != lists) {
    auto s = std::make_unique<Setup>();
    SyntheticTable synthetic = make_synthetic_table(lists, kTableSeed);
    auto loaded = table::parse_table(synthetic.json, "synthetic.json", {});
    if (!loaded) throw std::runtime_error(loaded.error().message);
    s->table = loaded.value();
    s->hits = make_hits(synthetic, kRecipients, kHitSeed);
    cached = std::move(s);
    cached_lists = lists;
  }
  return *cached;
}

// Feeds MAIL, `group` RCPTs per write, RSET; `pipelined` puts a whole group in one slice.
void run(benchmark::State& state, bool pipelined) {
  const Setup& s = setup(static_cast<size_t>(state.range(0)));
  io::BufferPool pool(io::BufferPool::kDefaultBufferSize, 64);
  lmtp::Counters counters;
  lmtp::SessionConfig config;
  config.hostname = "bench";
  table::TablePtr table = s.table;
  lmtp::Session session(config, [table] { return table; }, counters);
  session.start();
  auto feed = [&](std::string_view bytes) {
    for (io::Slice& slice : io::copy_into_pool(pool, bytes)) (void)session.feed(std::move(slice));
  };
  feed("LHLO bench\r\n");
  session.output().clear();
  size_t next = 0;
  std::string group;
  uint64_t rcpts = 0;
  for (auto _ : state) {
    state.PauseTiming();
    group.clear();
    std::string singles[kRcptsPerTransaction];
    for (size_t i = 0; i < kRcptsPerTransaction; ++i) {
      std::string line = "RCPT TO:<" + std::string(s.hits.addresses[next]) + ">\r\n";
      next = (next + 1) % s.hits.addresses.size();
      if (pipelined) group += line;
      else singles[i] = std::move(line);
    }
    feed("MAIL FROM:<a@b.c>\r\n");
    state.ResumeTiming();
    if (pipelined) {
      feed(group);
    } else {
      for (const std::string& line : singles) feed(line);
    }
    state.PauseTiming();
    feed("RSET\r\n");
    session.output().clear();
    rcpts += kRcptsPerTransaction;
    state.ResumeTiming();
  }
  if (counters.recipients_accepted != rcpts) state.SkipWithError("a hit was refused");
  state.counters["per_rcpt"] =
      benchmark::Counter(static_cast<double>(rcpts), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_SessionRcpt_Pipelined(benchmark::State& s) { run(s, true); }
void BM_SessionRcpt_OneByOne(benchmark::State& s) { run(s, false); }

BENCHMARK(BM_SessionRcpt_Pipelined)->Arg(1000)->Arg(1'000'000);
BENCHMARK(BM_SessionRcpt_OneByOne)->Arg(1000)->Arg(1'000'000);

}  // namespace
}  // namespace listgate::bench

BENCHMARK_MAIN();

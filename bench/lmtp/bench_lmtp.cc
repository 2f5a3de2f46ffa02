// bench_lmtp.cc - LMTP session throughput: pipelined command parsing
// (commands per second) and the DATA end-of-message scan (bytes per second).
//
// Inputs are built once and received into pooled buffers up front, so the
// loops measure the protocol machine, not allocation of test data. The
// directory accepts every address without work, so RCPT costs are the
// session's own.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "listgate/io/buffer.h"
#include "listgate/lmtp/data_scanner.h"
#include "listgate/lmtp/session.h"

namespace {

using namespace listgate;

constexpr int kTransactions = 200;
constexpr int kRecipientsPerTransaction = 3;

class AcceptAll final : public table::Directory {
 public:
  table::Resolution resolve(std::string_view) const override {
    return {table::Verdict::accept, table::Role::posting, 0, false};
  }
};

std::string text_body(size_t size) {
  static const std::string kLine =
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n";
  std::string b;
  b.reserve(size + kLine.size());
  while (b.size() + kLine.size() <= size) b += kLine;
  b.append(size - b.size() - 2, 'x');
  b += "\r\n";
  return b;
}

std::string pipelined_stream() {
  std::string s = "LHLO client.example\r\n";
  for (int t = 0; t < kTransactions; ++t) {
    s += "MAIL FROM:<sender" + std::to_string(t) + "@example.com> SIZE=300 BODY=8BITMIME\r\n";
    for (int r = 0; r < kRecipientsPerTransaction; ++r) {
      s += "RCPT TO:<list" + std::to_string(r) + "@lists.example.org>\r\n";
    }
    s += "DATA\r\nSubject: test\r\n\r\nshort body line one\r\nline two\r\n.\r\n";
  }
  s += "QUIT\r\n";
  return s;
}

void BM_PipelinedCommands(benchmark::State& state) {
  io::BufferPool pool;
  const io::SliceChain input = io::copy_into_pool(pool, pipelined_stream());
  auto dir = std::make_shared<AcceptAll>();
  lmtp::Counters counters;
  lmtp::SessionConfig config;
  const std::vector<std::string> replies(kRecipientsPerTransaction, "250 2.0.0 Ok");
  for (auto _ : state) {
    lmtp::Session s(config, [&] { return dir; }, counters);
    s.start();
    for (const io::Slice& sl : input) {
      lmtp::Session::Status st = s.feed(sl);
      while (st == lmtp::Session::Status::transaction_ready) {
        s.complete(replies);
        st = s.resume();
      }
      benchmark::DoNotOptimize(s.output().data());
      s.output().clear();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(counters.commands));
  state.counters["commands_per_stream"] = static_cast<double>(counters.commands) / state.iterations();
}
BENCHMARK(BM_PipelinedCommands);

void BM_DataScan(benchmark::State& state) {
  const std::string body = text_body(static_cast<size_t>(state.range(0))) + ".\r\n";
  for (auto _ : state) {
    lmtp::DataScanState st;
    const lmtp::DataScanResult r = lmtp::scan_data(body, st);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_DataScan)->Arg(4 << 10)->Arg(64 << 10)->Arg(1 << 20);

void BM_DataScanScalar(benchmark::State& state) {
  const std::string body = text_body(static_cast<size_t>(state.range(0))) + ".\r\n";
  for (auto _ : state) {
    lmtp::DataScanState st;
    const lmtp::DataScanResult r = lmtp::scan_data_scalar(body, st);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_DataScanScalar)->Arg(64 << 10);

// A whole message through the session: the scan plus slice bookkeeping,
// body received in 16 KiB buffers.
void BM_SessionBody(benchmark::State& state) {
  io::BufferPool pool;
  const std::string body = text_body(static_cast<size_t>(state.range(0)));
  const io::SliceChain head = io::copy_into_pool(
      pool, "LHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<l@lists.example.org>\r\nDATA\r\n");
  const io::SliceChain data = io::copy_into_pool(pool, body + ".\r\n");
  auto dir = std::make_shared<AcceptAll>();
  lmtp::Counters counters;
  lmtp::SessionConfig config;
  config.limits.max_message_size = uint64_t{1} << 30;
  const std::vector<std::string> replies(1, "250 2.0.0 Ok");
  lmtp::Session s(config, [&] { return dir; }, counters);
  s.feed(head[0]);
  for (auto _ : state) {
    for (const io::Slice& sl : data) s.feed(sl);
    s.complete(replies);
    s.resume();
    s.output().clear();
    s.feed(head[0].sub(8));  // MAIL, RCPT, DATA again (negligible next to the body)
    s.output().clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size() + 3));
}
BENCHMARK(BM_SessionBody)->Arg(64 << 10)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();

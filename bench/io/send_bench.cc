// send_bench.cc - does io_uring's SEND_ZC pay for listgate's sends?
//
// Sends a fixed buffer over a loopback TCP connection, as the reactor sends
// bodies to the upstream, three ways: the send(2) syscall (the epoll
// backend), io_uring SEND (the io_uring backend today), and io_uring
// SEND_ZC (zero copy; the buffer stays pinned until the kernel's
// notification). A reader thread drains the other end. CPU is the whole
// process's (sender and reader), because on loopback the receiving side's
// copy is where zero copy's saving would have to show.
//
//   build-release/bench/io/bench_send --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

enum Mode : int64_t { kSyscall = 0, kUringSend = 1, kUringSendZc = 2 };
constexpr unsigned kInFlight = 4;  // sends queued at once, as a busy reactor has

struct LoopbackPair {
  int sender = -1;
  int receiver = -1;
};

LoopbackPair connect_pair() {
  LoopbackPair p;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 1) != 0 || getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("listener");
    std::exit(1);
  }
  p.sender = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(p.sender, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  p.receiver = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  close(listener);
  int one = 1;
  setsockopt(p.sender, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return p;
}

// Reads and discards until the peer closes.
void drain(int fd) {
  std::vector<char> sink(256 * 1024);
  while (read(fd, sink.data(), sink.size()) > 0) {
  }
}

// Sends `rounds` x `size` bytes through io_uring, kInFlight at a time.
// Returns false on an error it reports.
bool uring_send(io_uring& ring, int fd, const char* data, size_t size, size_t rounds, bool zero_copy) {
  size_t queued = 0;
  size_t done = 0;
  unsigned waiting_notifications = 0;
  while (done < rounds || waiting_notifications > 0) {
    while (queued < rounds && queued - done < kInFlight) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      if (zero_copy) {
        io_uring_prep_send_zc(sqe, fd, data, size, MSG_WAITALL, 0);
      } else {
        io_uring_prep_send(sqe, fd, data, size, MSG_WAITALL);
      }
      ++queued;
    }
    io_uring_cqe* cqe = nullptr;
    if (io_uring_submit_and_wait(&ring, 1) < 0 || io_uring_peek_cqe(&ring, &cqe) != 0) return false;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      if (cqe->flags & IORING_CQE_F_NOTIF) {
        --waiting_notifications;
        continue;
      }
      if (cqe->res < 0 || static_cast<size_t>(cqe->res) != size) {
        std::fprintf(stderr, "send: %s (%d)\n", cqe->res < 0 ? std::strerror(-cqe->res) : "short", cqe->res);
        return false;
      }
      if (cqe->flags & IORING_CQE_F_MORE) ++waiting_notifications;
      ++done;
    }
    io_uring_cq_advance(&ring, seen);
  }
  return true;
}

bool syscall_send(int fd, const char* data, size_t size, size_t rounds) {
  for (size_t i = 0; i < rounds; ++i) {
    size_t off = 0;
    while (off < size) {
      ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
  }
  return true;
}

void BM_LoopbackSend(benchmark::State& state) {
  const auto mode = static_cast<Mode>(state.range(0));
  const auto size = static_cast<size_t>(state.range(1));
  LoopbackPair pair = connect_pair();
  std::thread reader(drain, pair.receiver);
  std::vector<char> payload(size, 'x');
  io_uring ring{};
  if (mode != kSyscall && io_uring_queue_init(64, &ring, 0) < 0) {
    state.SkipWithError("io_uring_queue_init failed");
  }
  constexpr size_t kRounds = 64;
  bool ok = true;
  for (auto _ : state) {
    ok = mode == kSyscall ? syscall_send(pair.sender, payload.data(), size, kRounds)
                          : uring_send(ring, pair.sender, payload.data(), size, kRounds, mode == kUringSendZc);
    if (!ok) {
      state.SkipWithError("send failed (SEND_ZC needs Linux 6.0)");
      break;
    }
  }
  shutdown(pair.sender, SHUT_WR);
  reader.join();
  close(pair.sender);
  close(pair.receiver);
  if (mode != kSyscall) io_uring_queue_exit(&ring);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRounds * size));
  state.SetLabel(mode == kSyscall ? "send(2)" : mode == kUringSend ? "io_uring send" : "io_uring send_zc");
}

BENCHMARK(BM_LoopbackSend)
    ->ArgNames({"mode", "bytes"})
    ->ArgsProduct({{kSyscall, kUringSend, kUringSendZc}, {4096, 16384, 65536, 262144}})
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

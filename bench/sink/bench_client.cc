// bench_client.cc - listgate-sink-bench: a pipelining SMTP load generator.
//
// Measures the sink (or any SMTP server) with what a list gateway sends:
// per transaction one write of MAIL + R RCPTs + DATA (RFC 2920 pipelining),
// a wait for the 354, then the body and final dot written together with
// the next transaction's envelope. One blocking thread per connection,
// every byte prebuilt, replies only counted and checked, so the client
// costs little next to the server on the other core.
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "listgate/app/config.h"
#include "listgate/io/socket.h"

namespace {

constexpr size_t kReadBuffer = 64 * 1024;
constexpr size_t kLineLength = 76;  // body line length before CRLF

struct Plan {
  std::string host = "127.0.0.1";
  uint16_t port = 2525;
  int connections = 1;
  long messages = 1000;  // per connection
  int rcpts = 100;
  size_t body_bytes = 1000;
};

struct Totals {
  std::atomic<uint64_t> rcpts{0};
  std::atomic<uint64_t> body_bytes{0};
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> bad_replies{0};
  std::atomic<int> failed{0};
};

std::string make_envelope(const Plan& p, int conn) {
  std::string s = "MAIL FROM:<list-bounces@lists.example.org> SIZE=" + std::to_string(p.body_bytes) + "\r\n";
  char line[128];
  for (int i = 0; i < p.rcpts; ++i) {
    int n = std::snprintf(line, sizeof line, "RCPT TO:<member-%03d-%06d@example.com>\r\n", conn, i);
    s.append(line, static_cast<size_t>(n));
  }
  s.append("DATA\r\n");
  return s;
}

std::string make_body(const Plan& p) {
  std::string s =
      "From: poster@example.com\r\nTo: list@lists.example.org\r\nSubject: bench\r\n"
      "Message-ID: <bench@example.org>\r\n\r\n";
  std::string line(kLineLength, 'x');
  line.append("\r\n");
  while (s.size() + line.size() <= p.body_bytes) s.append(line);
  while (s.size() + 2 < p.body_bytes) s.push_back('y');
  if (s.size() + 2 <= p.body_bytes) s.append("\r\n");
  s.append(".\r\n");
  return s;
}

bool write_all(int fd, const iovec* iov_in, int n) {
  std::vector<iovec> iov(iov_in, iov_in + n);
  size_t i = 0;
  while (i < iov.size()) {
    ssize_t w = ::writev(fd, iov.data() + i, static_cast<int>(iov.size() - i));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    size_t left = static_cast<size_t>(w);
    while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
    if (i < iov.size()) {
      iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + left;
      iov[i].iov_len -= left;
    }
  }
  return true;
}

// Reads until `want` final reply lines were seen; counts those not 2xx/3xx.
class ReplyReader {
 public:
  explicit ReplyReader(int fd) : fd_(fd), buf_(kReadBuffer) {}
  bool read_replies(long want, uint64_t* bad) {
    while (want > 0) {
      if (pos_ == len_) {
        ssize_t n = ::read(fd_, buf_.data(), buf_.size());
        if (n <= 0) return false;
        pos_ = 0;
        len_ = static_cast<size_t>(n);
      }
      const char* p = buf_.data() + pos_;
      const void* nl = std::memchr(p, '\n', len_ - pos_);
      size_t take = nl ? static_cast<size_t>(static_cast<const char*>(nl) - p) + 1 : len_ - pos_;
      line_.append(p, take);
      pos_ += take;
      if (nl == nullptr) continue;
      if (line_.size() >= 4 && line_[3] != '-') {
        --want;
        if (line_[0] != '2' && line_[0] != '3') ++*bad;
      }
      line_.clear();
    }
    return true;
  }

 private:
  int fd_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  std::string line_;
};

void run_connection(const Plan& plan, int index, Totals& totals) {
  auto fd = listgate::io::connect_tcp(plan.host, plan.port);
  if (!fd.ok()) {
    std::fprintf(stderr, "connect: %s\n", fd.error().message.c_str());
    ++totals.failed;
    return;
  }
  const int s = fd.value();
  const std::string envelope = make_envelope(plan, index);
  const std::string body = make_body(plan);
  const std::string ehlo = "EHLO bench.example.org\r\n";
  ReplyReader reader(s);
  uint64_t bad = 0;
  iovec iov[2];
  bool ok = reader.read_replies(1, &bad);
  iov[0] = {const_cast<char*>(ehlo.data()), ehlo.size()};
  ok = ok && write_all(s, iov, 1) && reader.read_replies(1, &bad);
  for (long m = 0; ok && m < plan.messages; ++m) {
    // Envelope (after the previous body), then wait for MAIL, RCPTs, 354.
    int n = 0;
    if (m > 0) iov[n++] = {const_cast<char*>(body.data()), body.size()};
    iov[n++] = {const_cast<char*>(envelope.data()), envelope.size()};
    ok = write_all(s, iov, n) && reader.read_replies(plan.rcpts + 2 + (m > 0 ? 1 : 0), &bad);
  }
  const std::string quit = "QUIT\r\n";
  iov[0] = {const_cast<char*>(body.data()), body.size()};
  iov[1] = {const_cast<char*>(quit.data()), quit.size()};
  ok = ok && write_all(s, iov, 2) && reader.read_replies(2, &bad);
  ::close(s);
  if (!ok) ++totals.failed;
  totals.bad_replies += bad;
  totals.messages += static_cast<uint64_t>(plan.messages);
  totals.rcpts += static_cast<uint64_t>(plan.messages) * static_cast<uint64_t>(plan.rcpts);
  totals.body_bytes += static_cast<uint64_t>(plan.messages) * (body.size() - 3);
}

bool parse_flag(const char* name, const char* value, Plan& p) {
  std::string_view n = name;
  if (n == "--connect") {
    auto a = listgate::app::parse_address(value, listgate::app::AllowUnix::no);
    if (!a.ok()) return false;
    p.host = a->host;
    p.port = a->port;
  } else if (n == "--connections") {
    p.connections = std::atoi(value);
  } else if (n == "--messages") {
    p.messages = std::atol(value);
  } else if (n == "--rcpts") {
    p.rcpts = std::atoi(value);
  } else if (n == "--body-bytes") {
    p.body_bytes = static_cast<size_t>(std::atoll(value));
  } else {
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Plan plan;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc || !parse_flag(argv[i], argv[i + 1], plan)) {
      std::fprintf(stderr,
                   "usage: listgate-sink-bench --connect HOST:PORT [--connections N] [--messages N per connection]"
                   " [--rcpts N per message] [--body-bytes N]\n");
      return 2;
    }
  }
  if (plan.rcpts < 1 || plan.connections < 1 || plan.messages < 1) {
    std::fprintf(stderr, "--rcpts, --connections and --messages must be at least 1\n");
    return 2;
  }
  Totals totals;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < plan.connections; ++c) threads.emplace_back(run_connection, std::cref(plan), c, std::ref(totals));
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("messages=%llu rcpts=%llu body_bytes=%llu seconds=%.3f rcpt_per_s=%.0f msg_per_s=%.0f body_MB_per_s=%.1f"
              " bad_replies=%llu failed_connections=%d\n",
              static_cast<unsigned long long>(totals.messages.load()),
              static_cast<unsigned long long>(totals.rcpts.load()),
              static_cast<unsigned long long>(totals.body_bytes.load()), secs, totals.rcpts.load() / secs,
              totals.messages.load() / secs, totals.body_bytes.load() / secs / 1e6,
              static_cast<unsigned long long>(totals.bad_replies.load()), totals.failed.load());
  return (totals.failed.load() == 0 && totals.bad_replies.load() == 0) ? 0 : 1;
}

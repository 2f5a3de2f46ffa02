// fanout_bench.cc - listgate-fanout-bench: one list post fanned out into the sink.
//
// Measures what issue 3 asks: how fast `listgate serve` (relay mode) fans a
// post to a large list out to the project's SMTP sink, against what the
// sink itself accepts when driven directly with the same shape of load, in
// the same run, and how many body bytes listgate copied on the way.
//
// It makes a temporary directory with a table of one list of N members and
// a config, starts listgate-sink and listgate (port 0 everywhere; the ports
// come from their start-up lines), then, per round (each step --posts
// times, timed together: one post alone is over in about 15 ms, which a
// shared machine's scheduling noise swamps):
//  - sink direct: this program's own single-threaded epoll client opens
//    `smtp_pool_size` connections to the sink and sends the same N
//    recipients the way listgate's pool does with an upstream that offers
//    CHUNKING (each transaction one write of MAIL + up to max_recipients
//    RCPTs + "BDAT n LAST" + the header prefix and body; up to
//    kDirectDepth transactions in flight per connection, RSET between
//    them, the next one sent as soon as one is answered): RCPTs per second
//    from the first envelope to the last reply;
//  - listgate: one post over LMTP (MAIL, RCPT to the list, DATA, body); the
//    clock runs from the final dot being written to listgate's 250, and
//    listgate's CPU time (/proc/PID/stat utime+stime and, finer,
//    /proc/PID/task/*/schedstat) is read before and after.
// A first round warms up (listgate opens its pool, the sink and the kernel
// settle) and is not counted; the medians of the other rounds are printed,
// with the ratio of listgate's deliveries/s to the sink's RCPT/s (target
// >= 0.8) and the body bytes listgate copied (from its metrics; target 0).
//
// With --pin (the default when two CPUs are usable) the sink runs on the
// first CPU, listgate and this client on the second: either listgate or
// the direct client competes with the sink, never both.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <deque>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#ifndef LISTGATE_BIN
#define LISTGATE_BIN "listgate"
#endif
#ifndef LISTGATE_SINK_BIN
#define LISTGATE_SINK_BIN "listgate-sink"
#endif

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kListLocal = "bench";
constexpr std::string_view kListDomain = "lists.example.org";
constexpr size_t kBodyLine = 76;
constexpr auto kStartTimeout = 30s;
constexpr auto kReplyTimeout = 300s;

struct Options {
  std::string listgate = LISTGATE_BIN;
  std::string sink = LISTGATE_SINK_BIN;
  uint32_t members = 100000;
  uint32_t rounds = 7;  // measured rounds, after one warm-up round
  // Posts (and direct runs) per round: one 100k-member post takes about
  // 15 ms, too short to time on a shared machine; a round of several is not.
  uint32_t posts = 8;
  size_t body_bytes = 4096;
  std::string io = "auto";
  uint32_t pool = 16;
  uint32_t max_recipients = 500;
  int pin = -1;  // -1: when two CPUs are usable
  bool keep = false;
  bool verbose = false;
};

// Children still running, killed by die().
std::vector<pid_t> g_children;

[[noreturn]] void die(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "listgate-fanout-bench: %s\n", what.c_str());
  for (pid_t pid : g_children) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::exit(1);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --- the test data ---

std::string member_address(uint32_t i) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "member-%07u@d%03u.example.com", i, i % 997);
  return std::string(buf, static_cast<size_t>(n));
}

std::string make_table(uint32_t members) {
  std::string s;
  s.reserve(static_cast<size_t>(members) * 40 + 256);
  s += "{\n  \"domains\": { \"";
  s += kListDomain;
  s += "\": {} },\n  \"lists\": [\n    { \"address\": \"";
  s += kListLocal;
  s += '@';
  s += kListDomain;
  s += "\",\n      \"owners\": [\"owner@example.org\"],\n      \"members\": [";
  for (uint32_t i = 0; i < members; ++i) {
    s += i == 0 ? "\n        \"" : ",\n        \"";
    s += member_address(i);
    s += '"';
  }
  s += "\n      ] }\n  ]\n}\n";
  return s;
}

// A post of about `bytes` octets, CRLF lines, with a Message-ID (so listgate
// adds none), no line starting with a dot (the wire form is the same).
std::string make_body(size_t bytes, int round) {
  std::string s = "From: poster@example.com\r\nTo: " + std::string(kListLocal) + "@" + std::string(kListDomain) +
                  "\r\nSubject: fan-out benchmark\r\nMessage-ID: <fanout-" + std::to_string(round) +
                  "-" + std::to_string(::getpid()) + "@example.org>\r\n\r\n";
  std::string line(kBodyLine, 'x');
  line += "\r\n";
  while (s.size() + line.size() <= bytes) s += line;
  while (s.size() + 2 < bytes) s += 'y';
  if (s.size() + 2 <= bytes) s += "\r\n";
  return s;
}

// About what listgate puts before a post (list_header_lines), for the direct run.
std::string list_header_prefix() {
  std::string list = std::string(kListLocal) + "@" + std::string(kListDomain);
  std::string dom = std::string(kListDomain);
  std::string local = std::string(kListLocal);
  return "List-Id: <" + local + "." + dom + ">\r\nList-Post: <mailto:" + list + ">\r\nList-Unsubscribe: <mailto:" +
         local + "-leave@" + dom + ">\r\nList-Help: <mailto:" + local + "-request@" + dom +
         "?subject=help>\r\nPrecedence: list\r\nX-BeenThere: " + list + "\r\n";
}

// --- files and processes ---

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f.good()) die("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The value of `key=` in `line` up to the next space.
std::string field(std::string_view line, std::string_view key) {
  std::string k = std::string(key) + "=";
  size_t at = 0;
  while ((at = line.find(k, at)) != std::string_view::npos) {
    if (at == 0 || line[at - 1] == ' ') break;
    at += k.size();
  }
  if (at == std::string_view::npos) return {};
  size_t start = at + k.size();
  size_t end = line.find_first_of(" \n", start);
  std::string v(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

class Child {
 public:
  Child(std::string name, const std::vector<std::string>& argv, const std::string& log, int cpu)
      : name_(std::move(name)), log_(log) {
    pid_ = ::fork();
    if (pid_ < 0) die("fork: " + std::string(std::strerror(errno)));
    if (pid_ == 0) {
      if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        ::sched_setaffinity(0, sizeof set, &set);
      }
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      if (fd < 0 || devnull < 0) _exit(127);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
      _exit(127);
    }
    g_children.push_back(pid_);
  }
  ~Child() { stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_); }

  // The first log line containing `needle`; dies (showing the log) on timeout or exit.
  std::string wait_line(std::string_view needle) {
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < kStartTimeout) {
      std::string text = log();
      size_t at = text.find(needle);
      if (at != std::string::npos) {
        size_t begin = text.rfind('\n', at);
        begin = begin == std::string::npos ? 0 : begin + 1;
        size_t end = text.find('\n', at);
        if (end != std::string::npos) return text.substr(begin, end - begin);
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        forget();
        die(name_ + " exited at start:\n" + text);
      }
      std::this_thread::sleep_for(10ms);
    }
    die(name_ + " did not start in time:\n" + log());
  }

  // SIGTERM, then SIGKILL after 10 s; returns the exit status (or -1).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto t0 = Clock::now();
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() - t0 > 10s) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    forget();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  void forget() {
    std::erase(g_children, pid_);
    pid_ = -1;
  }
  std::string name_;
  std::string log_;
  pid_t pid_ = -1;
};

// CPU time of a process: utime+stime (clock ticks) and the scheduler's
// nanoseconds summed over its threads; with --verbose also its read and
// write system calls (/proc/PID/io; io_uring's are not counted) and its
// context switches.
struct CpuTime {
  double stat_seconds = 0;
  double sched_seconds = 0;
  uint64_t syscr = 0, syscw = 0, switches = 0;
};

uint64_t proc_value(const std::string& text, std::string_view key) {
  size_t at = text.find(key);
  return at == std::string::npos ? 0 : std::strtoull(text.c_str() + at + key.size(), nullptr, 10);
}

// Per post (or per direct run): what `after - before` says, per member.
std::string activity(const CpuTime& before, const CpuTime& after, uint32_t members) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "reads %.4f writes %.4f switches %.4f per member",
                double(after.syscr - before.syscr) / members, double(after.syscw - before.syscw) / members,
                double(after.switches - before.switches) / members);
  return buf;
}

CpuTime cpu_time(pid_t pid) {
  CpuTime c;
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t rp = stat.rfind(')');
  if (rp != std::string::npos) {
    std::istringstream in(stat.substr(rp + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    // fields 3..13, then 14 utime, 15 stime
    for (int i = 3; i <= 13; ++i) in >> f;
    in >> utime >> stime;
    c.stat_seconds = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string s = read_file(dir + "/" + e->d_name + "/schedstat");
      c.sched_seconds += std::strtod(s.c_str(), nullptr) / 1e9;
      std::string status = read_file(dir + "/" + e->d_name + "/status");
      c.switches += proc_value(status, "voluntary_ctxt_switches:") + proc_value(status, "nonvoluntary_ctxt_switches:");
    }
    ::closedir(d);
  }
  std::string io = read_file("/proc/" + std::to_string(pid) + "/io");
  c.syscr = proc_value(io, "syscr: ");
  c.syscw = proc_value(io, "syscw: ");
  return c;
}

// --- blocking line client (LMTP, sink control, HTTP) ---

int connect_to(const std::string& hostport) {
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) die("bad address " + hostport);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::atoi(hostport.c_str() + colon + 1)));
  if (::inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &a.sin_addr) != 1) die("bad address " + hostport);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    die("connect " + hostport + ": " + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      die(std::string("write: ") + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // One line without its line end; nullopt at EOF.
  std::optional<std::string> line(std::chrono::seconds timeout = kReplyTimeout) {
    for (;;) {
      size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        std::string l = buf_.substr(pos_, nl - pos_);
        pos_ = nl + 1;
        if (!l.empty() && l.back() == '\r') l.pop_back();
        return l;
      }
      if (!fill(timeout)) return std::nullopt;
    }
  }
  // Everything up to EOF.
  std::string rest() {
    while (fill(30s)) {
    }
    std::string r = buf_.substr(pos_);
    pos_ = buf_.size();
    return r;
  }
  // An SMTP/LMTP reply (the last line's text, with the code).
  std::string reply() {
    for (;;) {
      auto l = line();
      if (!l) die("connection closed while waiting for a reply");
      if (l->size() < 4 || (*l)[3] != '-') return *l;
    }
  }

 private:
  bool fill(std::chrono::seconds timeout) {
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(timeout).count()));
    if (r <= 0) die("timed out waiting for a reply");
    char tmp[65536];
    ssize_t n = ::read(fd_, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  std::string buf_;
  size_t pos_ = 0;
};

void expect_code(const std::string& reply, char first, std::string_view what) {
  if (reply.empty() || reply[0] != first) die(std::string(what) + ": unexpected reply: " + reply);
}

// Prometheus text from http://ADDR/metrics: name{labels} -> value.
std::map<std::string, double> fetch_metrics(const std::string& addr) {
  int fd = connect_to(addr);
  write_all(fd, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  LineReader r(fd);
  std::string text = r.rest();
  ::close(fd);
  std::map<std::string, double> m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("listgate_")) continue;
    size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    m[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return m;
}

class SinkControl {
 public:
  explicit SinkControl(const std::string& addr) : fd_(connect_to(addr)), reader_(fd_) {}
  ~SinkControl() { ::close(fd_); }
  std::map<std::string, uint64_t> stats() {
    write_all(fd_, "stats\n");
    auto l = reader_.line(30s);
    if (!l || !l->starts_with("ok ")) die("sink stats: " + l.value_or("(closed)"));
    std::map<std::string, uint64_t> m;
    std::istringstream in(l->substr(3));
    std::string kv;
    while (in >> kv) {
      size_t eq = kv.find('=');
      if (eq != std::string::npos) m[kv.substr(0, eq)] = std::strtoull(kv.c_str() + eq + 1, nullptr, 10);
    }
    return m;
  }

 private:
  int fd_;
  LineReader reader_;
};

// --- the direct load on the sink: listgate's shape, from one epoll loop ---

// listgate's default ClientConfig::pipeline_depth.
constexpr size_t kDirectDepth = 8;

struct DirectResult {
  double seconds = 0;
  uint64_t rcpts = 0;
  uint64_t transactions = 0;
  uint64_t bad_replies = 0;
};

class DirectLoad {
 public:
  // `envelopes` end with their BDAT line; `message` is what follows it.
  DirectLoad(const std::string& sink_addr, uint32_t connections, const std::vector<std::string>& envelopes,
             const std::vector<uint32_t>& rcpts, std::string message)
      : envelopes_(envelopes), rcpts_(rcpts), message_(std::move(message)) {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    for (uint32_t i = 0; i < connections; ++i) {
      Conn c;
      c.fd = connect_to(sink_addr);
      conns_.push_back(std::move(c));
    }
    // Greeting and EHLO, blocking, before the clock starts (listgate's pool is warm too).
    for (Conn& c : conns_) {
      LineReader r(c.fd);
      expect_code(r.reply(), '2', "sink greeting");
      write_all(c.fd, "EHLO fanout-bench.example.org\r\n");
      expect_code(r.reply(), '2', "sink EHLO");
      ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    }
    for (size_t i = 0; i < conns_.size(); ++i) {
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.u64 = i;
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, conns_[i].fd, &e);
    }
  }
  ~DirectLoad() {
    for (Conn& c : conns_) {
      ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) & ~O_NONBLOCK);
      write_all(c.fd, "QUIT\r\n");
      ::close(c.fd);
    }
    ::close(ep_);
  }

  DirectResult run() {
    DirectResult res;
    next_ = 0;
    done_ = 0;
    const auto t0 = Clock::now();
    for (size_t i = 0; i < conns_.size(); ++i) fill(i);
    epoll_event events[64];
    while (done_ < envelopes_.size()) {
      int n = ::epoll_wait(ep_, events, 64, 300000);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) die("sink direct: no progress for 300 s");
      for (int k = 0; k < n; ++k) {
        size_t i = events[k].data.u64;
        if (events[k].events & EPOLLOUT) flush(i);
        if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(i);
      }
    }
    res.seconds = seconds_since(t0);
    for (uint32_t r : rcpts_) res.rcpts += r;
    res.transactions = envelopes_.size();
    res.bad_replies = bad_;
    return res;
  }

 private:
  struct Conn {
    int fd = -1;
    std::deque<uint32_t> owed;  // per transaction in flight: replies still expected
    bool sent_any = false;      // later transactions start with RSET
    std::string in;             // unfinished reply line
    std::string out;            // not yet written
    size_t out_at = 0;
    bool want_out = false;
  };

  // Sends transactions until kDirectDepth are in flight, in one write.
  void fill(size_t i) {
    Conn& c = conns_[i];
    while (c.owed.size() < kDirectDepth && next_ < envelopes_.size()) {
      const size_t txn = next_++;
      uint32_t owed = rcpts_[txn] + 2;  // MAIL, RCPTs, BDAT
      if (c.sent_any) {
        c.out += "RSET\r\n";
        ++owed;
      }
      c.sent_any = true;
      c.out += envelopes_[txn];
      c.out += message_;
      c.owed.push_back(owed);
    }
    flush(i);
  }

  void flush(size_t i) {
    Conn& c = conns_[i];
    while (c.out_at < c.out.size()) {
      ssize_t n = ::write(c.fd, c.out.data() + c.out_at, c.out.size() - c.out_at);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        die(std::string("sink direct write: ") + std::strerror(errno));
      }
      c.out_at += static_cast<size_t>(n);
    }
    if (c.out_at == c.out.size()) {
      c.out.clear();
      c.out_at = 0;
    }
    bool want = !c.out.empty();
    if (want != c.want_out) {
      epoll_event e{};
      e.events = EPOLLIN | (want ? static_cast<uint32_t>(EPOLLOUT) : 0u);
      e.data.u64 = i;
      ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &e);
      c.want_out = want;
    }
  }

  void on_readable(size_t i) {
    Conn& c = conns_[i];
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(c.fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return;
        die(std::string("sink direct read: ") + std::strerror(errno));
      }
      if (n == 0) die("sink direct: the sink closed a connection");
      std::string_view data(buf, static_cast<size_t>(n));
      while (!data.empty()) {
        const void* nl = std::memchr(data.data(), '\n', data.size());
        if (nl == nullptr) {
          c.in.append(data);
          break;
        }
        size_t len = static_cast<size_t>(static_cast<const char*>(nl) - data.data()) + 1;
        std::string_view line = data.substr(0, len);
        if (!c.in.empty()) {
          c.in.append(line);
          line = c.in;
        }
        if (line.size() >= 4 && line[3] != '-') on_reply(i, line[0]);
        c.in.clear();
        data.remove_prefix(len);
      }
      if (static_cast<size_t>(n) < sizeof buf) return;
    }
  }

  void on_reply(size_t i, char first) {
    Conn& c = conns_[i];
    if (c.owed.empty()) die("sink direct: a reply nobody asked for");
    if (first != '2') ++bad_;
    if (--c.owed.front() > 0) return;
    c.owed.pop_front();
    ++done_;
    fill(i);
  }

  const std::vector<std::string>& envelopes_;
  const std::vector<uint32_t>& rcpts_;
  std::string message_;
  std::vector<Conn> conns_;
  int ep_ = -1;
  size_t next_ = 0;
  size_t done_ = 0;
  uint64_t bad_ = 0;
};

// --- one post through listgate ---

struct PostResult {
  double seconds = 0;
  double cpu_stat = 0;
  double cpu_sched = 0;
  CpuTime before, after;
  std::string reply;
};

class LmtpClient {
 public:
  explicit LmtpClient(const std::string& addr) : fd_(connect_to(addr)), r_(fd_) {
    expect_code(r_.reply(), '2', "LMTP greeting");
    write_all(fd_, "LHLO fanout-bench.example.org\r\n");
    expect_code(r_.reply(), '2', "LHLO");
  }
  ~LmtpClient() {
    write_all(fd_, "QUIT\r\n");
    ::close(fd_);
  }

  PostResult post(const std::string& body, pid_t listgate) {
    std::string list = std::string(kListLocal) + "@" + std::string(kListDomain);
    write_all(fd_, "MAIL FROM:<poster@example.com>\r\nRCPT TO:<" + list + ">\r\nDATA\r\n");
    expect_code(r_.reply(), '2', "MAIL");
    expect_code(r_.reply(), '2', "RCPT to the list");
    expect_code(r_.reply(), '3', "DATA");
    PostResult res;
    std::string wire = body + ".\r\n";
    CpuTime before = cpu_time(listgate);
    const auto t0 = Clock::now();
    write_all(fd_, wire);
    res.reply = r_.reply();
    res.seconds = seconds_since(t0);
    CpuTime after = cpu_time(listgate);
    res.cpu_stat = after.stat_seconds - before.stat_seconds;
    res.cpu_sched = after.sched_seconds - before.sched_seconds;
    res.before = before;
    res.after = after;
    return res;
  }

 private:
  int fd_;
  LineReader r_;
};

// --- options ---

void usage(FILE* to) {
  std::fprintf(to,
               "usage: listgate-fanout-bench [--members N] [--rounds N] [--posts N] [--body-bytes N]\n"
               "                             [--io auto|uring|epoll]\n"
               "                             [--pool N] [--max-recipients N] [--pin|--no-pin] [--keep] [--verbose]\n"
               "                             [--listgate PATH] [--sink PATH]\n"
               "  --members N         list members (default 100000)\n"
               "  --rounds N          measured rounds after one warm-up round (default 7); medians are reported\n"
               "  --posts N           posts (and direct runs) per round, timed together (default 8)\n"
               "  --body-bytes N      size of the post (default 4096)\n"
               "  --io BACKEND        reactor of listgate and the sink (default auto)\n"
               "  --pool N            [listgate] smtp_pool_size and the direct client's connections (default 16)\n"
               "  --max-recipients N  [mta] max_recipients and the direct client's RCPTs per transaction (default 500)\n"
               "  --pin / --no-pin    sink on CPU A, listgate and this client on CPU B (default: when 2 CPUs are usable)\n"
               "  --keep              keep the temporary directory (table, config, logs)\n");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string value;
    auto take = [&](const char* name) -> bool {
      std::string_view n = name;
      if (a == n) {
        if (i + 1 >= argc) {
          usage(stderr);
          std::exit(2);
        }
        value = argv[++i];
        return true;
      }
      if (a.starts_with(n) && a.size() > n.size() && a[n.size()] == '=') {
        value = std::string(a.substr(n.size() + 1));
        return true;
      }
      return false;
    };
    auto number = [&]() -> unsigned long {
      char* end = nullptr;
      unsigned long v = std::strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0') {
        std::fprintf(stderr, "listgate-fanout-bench: %s: not a number: %s\n", argv[i], value.c_str());
        std::exit(2);
      }
      return v;
    };
    if (take("--members")) o.members = static_cast<uint32_t>(number());
    else if (take("--rounds")) o.rounds = static_cast<uint32_t>(number());
    else if (take("--posts")) o.posts = static_cast<uint32_t>(number());
    else if (take("--body-bytes")) o.body_bytes = number();
    else if (take("--io")) o.io = value;
    else if (take("--pool")) o.pool = static_cast<uint32_t>(number());
    else if (take("--max-recipients")) o.max_recipients = static_cast<uint32_t>(number());
    else if (take("--listgate")) o.listgate = value;
    else if (take("--sink")) o.sink = value;
    else if (a == "--pin") o.pin = 1;
    else if (a == "--no-pin") o.pin = 0;
    else if (a == "--keep") o.keep = true;
    else if (a == "--verbose") o.verbose = true;
    else if (a == "-h" || a == "--help") {
      usage(stdout);
      std::exit(0);
    } else {
      usage(stderr);
      std::exit(2);
    }
  }
  if (o.members < 1 || o.rounds < 1 || o.posts < 1 || o.pool < 1) {
    std::fprintf(stderr, "listgate-fanout-bench: --members, --rounds, --posts and --pool must be at least 1\n");
    std::exit(2);
  }
  if (o.io != "auto" && o.io != "uring" && o.io != "epoll") {
    std::fprintf(stderr, "listgate-fanout-bench: --io takes auto, uring or epoll\n");
    std::exit(2);
  }
  return o;
}

std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

std::string hostname_and_cpu() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string model;
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.starts_with("model name")) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(colon + 2);
      break;
    }
  }
  return std::string(host) + ", " + std::to_string(std::thread::hardware_concurrency()) + " CPUs, " + model;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<int> cpus = usable_cpus();
  bool pin = opt.pin == 1 || (opt.pin == -1 && cpus.size() >= 2);
  if (pin && cpus.size() < 2) die("--pin needs two usable CPUs");
  int sink_cpu = pin ? cpus[0] : -1;
  int main_cpu = pin ? cpus[1] : -1;
  if (pin) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(main_cpu, &set);
    ::sched_setaffinity(0, sizeof set, &set);
  }

  char tmpl[] = "/tmp/listgate-fanout-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) die("mkdtemp: " + std::string(std::strerror(errno)));
  const std::string dir = tmpl;

  std::printf("fanout: members=%u rounds=%u body_bytes=%zu io=%s pool=%u max_recipients=%u pin=%s\n", opt.members,
              opt.rounds, opt.body_bytes, opt.io.c_str(), opt.pool, opt.max_recipients,
              pin ? (std::to_string(sink_cpu) + "(sink)," + std::to_string(main_cpu) + "(listgate,client)").c_str()
                  : "off");
  std::printf("fanout: machine: %s\n", hostname_and_cpu().c_str());
  std::fflush(stdout);

  auto t_table = Clock::now();
  write_file(dir + "/lists.json", make_table(opt.members));
  double table_seconds = seconds_since(t_table);

  int status = 0;
  {
    Child sink("listgate-sink",
               {opt.sink, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--io", opt.io},
               dir + "/sink.log", sink_cpu);
    std::string sink_line = sink.wait_line("sink listening");
    const std::string sink_smtp = field(sink_line, "smtp");
    const std::string sink_control = field(sink_line, "control");
    const std::string sink_io = field(sink_line, "io");

    write_file(dir + "/listgate.cfg",
               "[mta]\nlmtp_host: 127.0.0.1\nlmtp_port: 0\nincoming: mailman.mta.null.NullMTA\n"
               "smtp_host: " + sink_smtp.substr(0, sink_smtp.rfind(':')) +
               "\nsmtp_port: " + sink_smtp.substr(sink_smtp.rfind(':') + 1) +
               "\nmax_recipients: " + std::to_string(opt.max_recipients) +
               "\n\n[listgate]\ntable = " + dir + "/lists.json\nspool_dir = " + dir +
               "/spool\nbounce_log = " + dir + "/bounces.jsonl\nmetrics = 127.0.0.1:0\nio = " + opt.io +
               "\nsmtp_pool_size = " + std::to_string(opt.pool) + "\nmax_message_size = " +
               std::to_string(std::max<size_t>(opt.body_bytes * 2, 1 << 20)) + "\n");
    auto t_start = Clock::now();
    Child listgate("listgate", {opt.listgate, "serve", "-c", dir + "/listgate.cfg"}, dir + "/listgate.log", main_cpu);
    std::string lg_line = listgate.wait_line("event=listening");
    double start_seconds = seconds_since(t_start);
    const std::string lmtp = field(lg_line, "lmtp");
    const std::string metrics = field(lg_line, "metrics");
    std::string lg_log = listgate.log();
    std::string lg_io = field(lg_log.substr(lg_log.find("event=io_backend")), "backend");
    if (field(lg_line, "mode") != "relay") die("listgate is not in relay mode: " + lg_line);
    std::printf("fanout: table %u members written in %.2f s; listgate up in %.2f s (io=%s), sink io=%s\n",
                opt.members, table_seconds, start_seconds, lg_io.c_str(), sink_io.c_str());
    std::printf("fanout: sink smtp=%s control=%s; listgate lmtp=%s metrics=%s; dir=%s\n", sink_smtp.c_str(),
                sink_control.c_str(), lmtp.c_str(), metrics.c_str(), dir.c_str());
    std::fflush(stdout);

    // The direct load: the same recipients, cut the same way.
    std::vector<std::string> envelopes;
    std::vector<uint32_t> rcpts;
    const std::string prefix = list_header_prefix();
    {
      const std::string body0 = make_body(opt.body_bytes, 0);
      const size_t size = prefix.size() + body0.size();
      const uint32_t chunk = opt.max_recipients == 0 ? opt.members : opt.max_recipients;
      for (uint32_t first = 0; first < opt.members; first += chunk) {
        uint32_t last = std::min(opt.members, first + chunk);
        std::string e = "MAIL FROM:<" + std::string(kListLocal) + "-bounces@" + std::string(kListDomain) +
                        "> SIZE=" + std::to_string(size) + "\r\n";
        for (uint32_t i = first; i < last; ++i) e += "RCPT TO:<" + member_address(i) + ">\r\n";
        e += "BDAT " + std::to_string(size) + " LAST\r\n";
        envelopes.push_back(std::move(e));
        rcpts.push_back(last - first);
      }
    }

    SinkControl control(sink_control);
    LmtpClient lmtp_client(lmtp);
    std::vector<double> direct_rates, post_rates, post_seconds, cpu_us, cpu_us_stat, sink_cpu_direct,
        sink_cpu_post, ratios;
    auto m0 = fetch_metrics(metrics);
    for (uint32_t round = 0; round <= opt.rounds; ++round) {
      const bool warmup = round == 0;
      const double round_members = static_cast<double>(opt.members) * opt.posts;
      // 1. the sink alone, opt.posts times
      auto s0 = control.stats();
      CpuTime sc0 = cpu_time(sink.pid());
      DirectResult d;
      for (uint32_t run = 0; run < opt.posts; ++run) {
        DirectLoad load(sink_smtp, opt.pool, envelopes, rcpts, prefix + make_body(opt.body_bytes, 0));
        if (run == 0) sc0 = cpu_time(sink.pid());
        DirectResult one = load.run();
        d.seconds += one.seconds;
        d.rcpts += one.rcpts;
        d.bad_replies += one.bad_replies;
      }
      CpuTime sc1 = cpu_time(sink.pid());
      auto s1 = control.stats();
      uint64_t direct_accepted = s1["rcpt_accepted"] - s0["rcpt_accepted"];
      if (d.bad_replies != 0 || direct_accepted != uint64_t{opt.members} * opt.posts)
        die("sink direct: " + std::to_string(direct_accepted) + " RCPTs accepted of " +
            std::to_string(uint64_t{opt.members} * opt.posts) + ", " + std::to_string(d.bad_replies) + " bad replies");
      double direct_rate = static_cast<double>(d.rcpts) / d.seconds;

      // 2. opt.posts posts through listgate, one after the other
      auto before = fetch_metrics(metrics);
      CpuTime sc2 = cpu_time(sink.pid());
      PostResult p;
      for (uint32_t post = 0; post < opt.posts; ++post) {
        PostResult one = lmtp_client.post(make_body(opt.body_bytes, static_cast<int>(round * opt.posts + post) + 1),
                                          listgate.pid());
        if (!one.reply.starts_with("250")) die("the post was answered: " + one.reply + "\n" + listgate.log());
        if (post == 0) p.before = one.before;
        p.after = one.after;
        p.reply = one.reply;
        p.seconds += one.seconds;
        p.cpu_stat += one.cpu_stat;
        p.cpu_sched += one.cpu_sched;
      }
      CpuTime sc3 = cpu_time(sink.pid());
      auto s2 = control.stats();
      auto after = fetch_metrics(metrics);
      double delivered = after["listgate_deliveries_total{result=\"delivered\"}"] -
                         before["listgate_deliveries_total{result=\"delivered\"}"];
      uint64_t post_accepted = s2["rcpt_accepted"] - s1["rcpt_accepted"];
      if (delivered != round_members || post_accepted != round_members)
        die("listgate delivered " + std::to_string(delivered) + ", the sink accepted " +
            std::to_string(post_accepted) + ", of " + std::to_string(round_members) + " member deliveries; reply: " +
            p.reply);
      double post_rate = round_members / p.seconds;
      double us = p.cpu_sched * 1e6 / round_members;
      double us_stat = p.cpu_stat * 1e6 / round_members;
      double sink_direct_us = (sc1.sched_seconds - sc0.sched_seconds) * 1e6 / round_members;
      double sink_post_us = (sc3.sched_seconds - sc2.sched_seconds) * 1e6 / round_members;
      std::printf("fanout: %s  sink direct %9.0f RCPT/s (%.3f s, sink %.2f us/RCPT)  listgate %9.0f deliveries/s "
                  "(%.3f s, cpu %.2f us/member [stat %.2f], sink %.2f us/RCPT)  ratio %.2f\n",
                  warmup ? "warm-up " : ("round " + std::to_string(round) + (round < 10 ? " " : "")).c_str(),
                  direct_rate, d.seconds, sink_direct_us, post_rate, p.seconds, us, us_stat, sink_post_us,
                  post_rate / direct_rate);
      if (opt.verbose) {
        std::printf("fanout:          reply: %s\n", p.reply.c_str());
        const auto per = static_cast<uint32_t>(round_members);
        std::printf("fanout:          sink direct: %s\n", activity(sc0, sc1, per).c_str());
        std::printf("fanout:          sink from listgate: %s\n", activity(sc2, sc3, per).c_str());
        std::printf("fanout:          listgate: %s\n", activity(p.before, p.after, per).c_str());
      }
      std::fflush(stdout);
      if (warmup) continue;
      direct_rates.push_back(direct_rate);
      post_rates.push_back(post_rate);
      post_seconds.push_back(p.seconds);
      cpu_us.push_back(us);
      cpu_us_stat.push_back(us_stat);
      sink_cpu_direct.push_back(sink_direct_us);
      sink_cpu_post.push_back(sink_post_us);
      ratios.push_back(post_rate / direct_rate);
    }
    auto m1 = fetch_metrics(metrics);
    auto delta = [&](const std::string& k) { return m1[k] - m0[k]; };
    auto total = [&](const std::string& k) { return m1[k]; };

    double rate = median(post_rates);
    double sink_rate = median(direct_rates);
    std::printf("\n");
    std::printf("members per post            %u (%u transactions of at most %u RCPTs, pool %u)\n", opt.members,
                static_cast<unsigned>(envelopes.size()), opt.max_recipients, opt.pool);
    std::printf("final dot to 250 (median)   %.3f s (per post)\n", median(post_seconds) / opt.posts);
    std::printf("member deliveries/s         %.0f (median of %u rounds of %u posts)\n", rate, opt.rounds, opt.posts);
    std::printf("sink RCPT/s, direct         %.0f (median of %u rounds of %u runs, same run)\n", sink_rate,
                opt.rounds, opt.posts);
    // The per-round ratios pair runs made seconds apart; the machine's speed
    // drifts more than that between rounds, so their median is the figure.
    std::printf("ratio                       %.2f (median of per-round ratios; ratio of the medians %.2f; "
                "target >= 0.8)\n",
                median(ratios), rate / sink_rate);
    std::printf("listgate CPU per member     %.3f us (schedstat; utime+stime: %.2f us; aim ~2 us)\n",
                median(cpu_us), median(cpu_us_stat));
    std::printf("sink CPU per RCPT           %.3f us direct, %.3f us from listgate\n", median(sink_cpu_direct),
                median(sink_cpu_post));
    std::printf("outbound body bytes         referenced %.0f, copied %.0f (target 0; all %u posts)\n",
                delta("listgate_outbound_body_bytes_referenced_total"),
                delta("listgate_outbound_body_bytes_copied_total"), (opt.rounds + 1) * opt.posts);
    std::printf("body bytes copied (LMTP)    %.0f (listgate_body_bytes_copied_total)\n",
                total("listgate_body_bytes_copied_total"));
    std::printf("outbound transactions       %.0f, connects %.0f (all %u posts)\n",
                delta("listgate_outbound_transactions_total"), total("listgate_outbound_connects_total"),
                (opt.rounds + 1) * opt.posts);
    std::printf("RESULT members=%u deliveries_per_s=%.0f sink_rcpt_per_s=%.0f ratio=%.2f cpu_us_per_member=%.3f "
                "outbound_body_bytes_copied=%.0f body_bytes_copied=%.0f io=%s\n",
                opt.members, rate, sink_rate, median(ratios), median(cpu_us),
                delta("listgate_outbound_body_bytes_copied_total"),
                total("listgate_body_bytes_copied_total"), lg_io.c_str());
    std::fflush(stdout);

    int lg_exit = listgate.stop();
    int sink_exit = sink.stop();
    if (lg_exit != 0 || sink_exit != 0) {
      std::fprintf(stderr, "listgate-fanout-bench: listgate exited %d, the sink %d\n", lg_exit, sink_exit);
      status = 1;
    }
  }
  if (opt.keep) {
    std::printf("fanout: kept %s\n", dir.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return status;
}

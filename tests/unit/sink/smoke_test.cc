// smoke_test.cc - the real listgate-sink binary over real sockets.
//
// Each test starts the binary on 127.0.0.1 port 0 (both ports read from its
// `sink listening` line), speaks SMTP and the control protocol with
// blocking sockets that time out, and stops it with SIGTERM. Every wait is
// bounded, so a broken sink fails a test instead of hanging the run. Runs
// once per reactor backend.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "listgate/io/socket.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWait = std::chrono::seconds(5);

class Sink {
 public:
  explicit Sink(std::vector<std::string> args) {
    const char* bin = std::getenv("LISTGATE_SINK_BIN");
    if (bin == nullptr) {
      ADD_FAILURE() << "LISTGATE_SINK_BIN is not set";
      return;
    }
    args.insert(args.begin(), {bin, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"});
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    err_ = fds[0];
    std::string line = wait_for_line("sink listening");
    std::smatch m;
    static const std::regex re("smtp=127\\.0\\.0\\.1:(\\d+) control=127\\.0\\.0\\.1:(\\d+)");
    if (std::regex_search(line, m, re)) {
      smtp_port = static_cast<uint16_t>(std::stoi(m[1]));
      control_port = static_cast<uint16_t>(std::stoi(m[2]));
    } else {
      ADD_FAILURE() << "no listening line, stderr: " << stderr_;
    }
  }
  ~Sink() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (err_ >= 0) close(err_);
  }

  // The first stderr line containing `what` (waits up to kWait).
  std::string wait_for_line(const std::string& what) {
    const auto deadline = Clock::now() + kWait;
    for (;;) {
      size_t at = stderr_.find(what);
      if (at != std::string::npos) {
        size_t start = stderr_.rfind('\n', at);
        start = start == std::string::npos ? 0 : start + 1;
        size_t end = stderr_.find('\n', at);
        if (end != std::string::npos) return stderr_.substr(start, end - start);
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return {};
      pollfd p{err_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) return {};
      char buf[4096];
      ssize_t n = read(err_, buf, sizeof buf);
      if (n <= 0) return {};
      stderr_.append(buf, static_cast<size_t>(n));
    }
  }

  // SIGTERM, then the exit status (-1 if it did not exit in time).
  int terminate() {
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + kWait;
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      usleep(10000);
    }
    return -1;
  }

  // Everything read from its stderr so far.
  const std::string& stderr_text() const { return stderr_; }

  uint16_t smtp_port = 0;
  uint16_t control_port = 0;

 private:
  pid_t pid_ = -1;
  int err_ = -1;
  std::string stderr_;
};

// A blocking client with a receive timeout.
class Client {
 public:
  explicit Client(uint16_t port) {
    auto fd = listgate::io::connect_tcp("127.0.0.1", port);
    if (!fd.ok()) return;
    fd_ = fd.value();
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return fd_ >= 0; }
  void send(const std::string& s) { ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), (ssize_t)s.size()); }
  // One line with its "\n" (empty on EOF or timeout); the rest stays buffered.
  std::string read_line() {
    size_t nl;
    while ((nl = buf_.find('\n')) == std::string::npos) {
      if (!fill()) return {};
    }
    std::string line = buf_.substr(0, nl + 1);
    buf_.erase(0, nl + 1);
    return line;
  }
  // Exactly n bytes (fewer on EOF or timeout).
  std::string read_n(size_t n) {
    while (buf_.size() < n && fill()) {
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, out.size());
    return out;
  }
  // Reply lines until `count` final ones ("NNN " rather than "NNN-").
  std::string replies(int count) {
    std::string out;
    while (count > 0) {
      std::string line = read_line();
      if (line.empty()) break;
      out += line;
      if (line.size() >= 4 && line[3] == ' ') --count;
    }
    return out;
  }
  // Control: one command, one line back (without "\n").
  std::string command(const std::string& line) {
    send(line + "\n");
    std::string r = read_line();
    if (!r.empty()) r.pop_back();
    return r;
  }
  // True when the peer closes with nothing more to read.
  bool wait_eof() {
    while (fill()) {
    }
    return eof_ && buf_.empty();
  }

 private:
  bool fill() {
    char b[65536];
    ssize_t n = recv(fd_, b, sizeof b, 0);
    if (n <= 0) {
      eof_ = n == 0;
      return false;
    }
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "sink_smoke_" + std::to_string(getpid()) + "_" + name;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string stat_value(const std::string& stats, const std::string& key) {
  std::regex re("(^| )" + key + "=(\\d+)");
  std::smatch m;
  return std::regex_search(stats, m, re) ? m[2].str() : "?";
}

class SinkSmoke : public ::testing::TestWithParam<const char*> {};

TEST_P(SinkSmoke, DeliverRecordStatsLast) {
  const std::string record = temp_path(std::string("record_") + GetParam());
  unlink(record.c_str());
  Sink sink({"--io", GetParam(), "--record", record, "--keep-last"});
  ASSERT_NE(sink.smtp_port, 0);
  Client control(sink.control_port);
  ASSERT_TRUE(control.connected());
  EXPECT_EQ(control.command("set fail-rcpt bob=550"), "ok");

  Client c(sink.smtp_port);
  EXPECT_EQ(c.replies(1), "220 sink ESMTP\r\n");
  c.send("EHLO t\r\nMAIL FROM:<list-bounces@lists.example.org>\r\nRCPT TO:<alice@example.com>\r\n"
         "RCPT TO:<bob@example.com>\r\nRCPT TO:<carol@example.com>\r\nDATA\r\n");
  std::string r = c.replies(6);
  EXPECT_NE(r.find("550 5.1.1 Recipient refused (sink fault)\r\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("354 End data with <CR><LF>.<CR><LF>\r\n")) << r;
  const std::string body = "Message-ID: <post-1@example.org>\r\nSubject: t\r\n\r\n..dot line\r\nbye\r\n";
  const std::string unstuffed = "Message-ID: <post-1@example.org>\r\nSubject: t\r\n\r\n.dot line\r\nbye\r\n";
  c.send(body + ".\r\n");
  EXPECT_EQ(c.replies(1), "250 2.0.0 Ok: queued as 1\r\n");

  const std::string stats = control.command("stats");
  EXPECT_TRUE(stats.starts_with("ok ")) << stats;
  EXPECT_EQ(stat_value(stats, "transactions"), "1");
  EXPECT_EQ(stat_value(stats, "rcpt_accepted"), "2");
  EXPECT_EQ(stat_value(stats, "rcpt_refused"), "1");
  EXPECT_EQ(stat_value(stats, "body_bytes"), std::to_string(unstuffed.size()));
  EXPECT_EQ(stat_value(stats, "active"), "1");
  const std::string size = std::to_string(unstuffed.size());
  EXPECT_EQ(read_file(record), "<post-1@example.org> alice@example.com list-bounces@lists.example.org " + size +
                                   "\n<post-1@example.org> carol@example.com list-bounces@lists.example.org " + size +
                                   "\n");
  EXPECT_EQ(control.command("last"), "ok " + size);
  EXPECT_EQ(control.read_n(unstuffed.size()), unstuffed);

  EXPECT_EQ(control.command("faults"),
            "ok rcpt-temp-fail=0 rcpt-perm-fail=0 data-temp-fail=0 data-perm-fail=0 drop-mid-data=0 delay-ms=0 "
            "fail-rcpt=bob=550");
  EXPECT_EQ(control.command("clear"), "ok");
  EXPECT_EQ(control.command("set data-temp-fail 1"), "ok");
  c.send("MAIL FROM:<a@b>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n");
  EXPECT_TRUE(c.replies(3).ends_with("354 End data with <CR><LF>.<CR><LF>\r\n"));
  c.send("x\r\n.\r\n");
  EXPECT_EQ(c.replies(1), "451 4.3.0 Temporary failure (sink fault)\r\n");
  EXPECT_EQ(control.command("reset-stats"), "ok");
  EXPECT_EQ(stat_value(control.command("stats"), "transactions"), "0");
  EXPECT_EQ(control.command("set nonsense 1").substr(0, 4), "err ");
  EXPECT_EQ(control.command("bogus"), "err unknown command 'bogus'");
  c.send("QUIT\r\n");
  EXPECT_EQ(c.replies(1), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c.wait_eof());

  EXPECT_EQ(sink.terminate(), 0) << (sink.wait_for_line("\x01"), sink.stderr_text());
  // Counted since reset-stats: nothing but the connection closing.
  const std::string summary = sink.wait_for_line("sink summary");
  EXPECT_TRUE(summary.starts_with("sink summary connections=0 active=0 ")) << summary;
  EXPECT_EQ(stat_value(summary, "data_failed"), "0");
  unlink(record.c_str());
}

TEST_P(SinkSmoke, DownAndUp) {
  Sink sink({"--io", GetParam()});
  ASSERT_NE(sink.smtp_port, 0);
  Client control(sink.control_port);
  Client open(sink.smtp_port);
  EXPECT_EQ(open.replies(1), "220 sink ESMTP\r\n");

  EXPECT_EQ(control.command("down"), "ok down");
  EXPECT_EQ(open.replies(1), "421 4.3.2 sink going down\r\n");
  EXPECT_TRUE(open.wait_eof());
  Client refused(sink.smtp_port);
  EXPECT_FALSE(refused.connected());

  EXPECT_EQ(control.command("up"), "ok up smtp=127.0.0.1:" + std::to_string(sink.smtp_port));
  Client again(sink.smtp_port);
  ASSERT_TRUE(again.connected());
  EXPECT_EQ(again.replies(1), "220 sink ESMTP\r\n");

  EXPECT_EQ(control.command("down 421"), "ok down");
  EXPECT_EQ(again.replies(1), "421 4.3.2 sink going down\r\n");
  Client greeted_421(sink.smtp_port);
  ASSERT_TRUE(greeted_421.connected());
  EXPECT_EQ(greeted_421.replies(1), "421 4.3.2 sink is down\r\n");
  EXPECT_TRUE(greeted_421.wait_eof());

  // From "down" (closed) straight to "down 421" and back up: the port is bound again each time.
  EXPECT_EQ(control.command("down"), "ok down");
  EXPECT_FALSE(Client(sink.smtp_port).connected());
  EXPECT_EQ(control.command("down 421"), "ok down");
  EXPECT_EQ(Client(sink.smtp_port).replies(1), "421 4.3.2 sink is down\r\n");
  // Pipelined control commands are answered in order even when `up` waits.
  control.send("down\nup\nstats\n");
  EXPECT_EQ(control.read_line(), "ok down\n");
  EXPECT_EQ(control.read_line(), "ok up smtp=127.0.0.1:" + std::to_string(sink.smtp_port) + "\n");
  EXPECT_TRUE(control.read_line().starts_with("ok connections="));
  EXPECT_EQ(Client(sink.smtp_port).replies(1), "220 sink ESMTP\r\n");
  EXPECT_EQ(stat_value(control.command("stats"), "refused_connections"), "2");
  EXPECT_EQ(sink.terminate(), 0) << (sink.wait_for_line("\x01"), sink.stderr_text());
}

TEST_P(SinkSmoke, DelayAndDrop) {
  Sink sink({"--io", GetParam(), "--delay-ms", "150"});
  ASSERT_NE(sink.smtp_port, 0);
  Client control(sink.control_port);
  auto start = Clock::now();
  Client c(sink.smtp_port);
  EXPECT_EQ(c.replies(1), "220 sink ESMTP\r\n");
  c.send("HELO t\r\nNOOP\r\n");
  EXPECT_EQ(c.replies(2), "250 sink\r\n250 2.0.0 Ok\r\n");
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(300));

  EXPECT_EQ(control.command("set delay-ms 0"), "ok");
  start = Clock::now();
  c.send("NOOP\r\n");
  EXPECT_EQ(c.replies(1), "250 2.0.0 Ok\r\n");
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(150));

  EXPECT_EQ(control.command("set drop-mid-data 1"), "ok");
  c.send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
  EXPECT_TRUE(c.replies(3).ends_with("354 End data with <CR><LF>.<CR><LF>\r\n"));
  c.send("Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_TRUE(c.wait_eof());
  const std::string stats = control.command("stats");
  EXPECT_EQ(stat_value(stats, "drops"), "1");
  EXPECT_EQ(stat_value(stats, "transactions"), "0");
  EXPECT_EQ(sink.terminate(), 0) << (sink.wait_for_line("\x01"), sink.stderr_text());
}

TEST_P(SinkSmoke, BdatPipelinedTransactions) {
  const std::string record = temp_path(std::string("record_bdat_") + GetParam());
  unlink(record.c_str());
  Sink sink({"--io", GetParam(), "--record", record, "--keep-last"});
  ASSERT_NE(sink.smtp_port, 0);
  Client control(sink.control_port);
  Client c(sink.smtp_port);
  EXPECT_EQ(c.replies(1), "220 sink ESMTP\r\n");
  c.send("EHLO t\r\n");
  const std::string ehlo = c.replies(1);
  EXPECT_NE(ehlo.find("250-CHUNKING\r\n"), std::string::npos) << ehlo;

  // Two transactions in one write, as listgate's client pipelines them; chunks are raw (no dot-stuffing).
  const std::string body = "Message-ID: <bdat-1@example.org>\r\n\r\n.dot line\r\n.\r\nbye\r\n";
  const std::string head = body.substr(0, 20);
  const std::string tail = body.substr(20);
  const std::string size = std::to_string(body.size());
  c.send("MAIL FROM:<a@b>\r\nRCPT TO:<bob@example.com>\r\nBDAT 0 LAST\r\nRSET\r\n"
         "MAIL FROM:<list-bounces@lists.example.org> SIZE=" + size + "\r\nRCPT TO:<alice@example.com>\r\n"
         "BDAT 20\r\n" + head + "BDAT " + std::to_string(tail.size()) + " LAST\r\n" + tail);
  EXPECT_EQ(c.replies(8),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as 1\r\n250 2.0.0 Ok\r\n"
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: 20 bytes\r\n250 2.0.0 Ok: queued as 2\r\n");

  const std::string stats = control.command("stats");
  EXPECT_EQ(stat_value(stats, "transactions"), "2");
  EXPECT_EQ(stat_value(stats, "body_bytes"), size);
  EXPECT_EQ(stat_value(stats, "data_bytes"), size);
  EXPECT_EQ(read_file(record), "- bob@example.com a@b 0\n<bdat-1@example.org> alice@example.com "
                               "list-bounces@lists.example.org " + size + "\n");
  EXPECT_EQ(control.command("last"), "ok " + size);
  EXPECT_EQ(control.read_n(body.size()), body);
  c.send("QUIT\r\n");
  EXPECT_EQ(c.replies(1), "221 2.0.0 Bye\r\n");
  EXPECT_EQ(sink.terminate(), 0) << (sink.wait_for_line("\x01"), sink.stderr_text());
  unlink(record.c_str());

  Sink plain({"--io", GetParam(), "--no-chunking"});
  ASSERT_NE(plain.smtp_port, 0);
  Client p(plain.smtp_port);
  EXPECT_EQ(p.replies(1), "220 sink ESMTP\r\n");
  p.send("EHLO t\r\nBDAT 0 LAST\r\n");
  const std::string refused = p.replies(2);
  EXPECT_EQ(refused.find("CHUNKING"), std::string::npos) << refused;
  EXPECT_TRUE(refused.ends_with("250 ENHANCEDSTATUSCODES\r\n500 5.5.1 Command unrecognized\r\n")) << refused;
  EXPECT_EQ(plain.terminate(), 0) << (plain.wait_for_line("\x01"), plain.stderr_text());
}

INSTANTIATE_TEST_SUITE_P(Backends, SinkSmoke, ::testing::Values("epoll", "auto"));

}  // namespace

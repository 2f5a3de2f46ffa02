// qmail-lmtp PORT STRIP [HOST]: delivers the message on stdin over LMTP, for
// qmail-local (a "|qmail-lmtp 8024 1" line in a .qmail file).
//
// The recipient comes from qmail-local's environment ($LOCAL and $HOST, or
// $RECIPIENT), without its first STRIP dash-separated parts (qmail's
// namespace prefix); the sender from $SENDER. HOST (default 127.0.0.1) is a
// host name, an IP address, or an absolute path of a Unix socket. Exit codes
// as qmail-command(8) wants them: 0 delivered, 100 permanent failure (qmail
// bounces), 111 temporary failure (qmail retries), with one line on stdout
// that qmail-local logs and puts into the bounce. Every connect, read and
// write has a timeout (30 s to connect, 300 s per command, 600 s for the
// reply after the message; $QMAIL_LMTP_TIMEOUT=SECONDS sets all three).
// See qmail_lmtp.h for what counts as permanent.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "qmail_lmtp.h"

namespace qmail_lmtp {
namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_in(unsigned seconds) { return Clock::now() + std::chrono::seconds(seconds); }

// Milliseconds left until `deadline` (0 when it passed).
int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

// Waits for `events` on `fd` until `deadline`; false on timeout or poll error.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, ms_left(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

class Connection {
 public:
  explicit Connection(const Options& options, const Timeouts& timeouts) : options_(options), timeouts_(timeouts) {
    where_ = options.host.starts_with('/') ? options.host
             : options.host.find(':') != std::string::npos
                 ? "[" + options.host + "]:" + std::to_string(options.port)
                 : options.host + ":" + std::to_string(options.port);
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& where() const { return where_; }

  // Connects; "" on success, else why not.
  std::string connect() {
    Clock::time_point deadline = deadline_in(timeouts_.connect);
    if (options_.host.starts_with('/')) {
      sockaddr_un sun{};
      sun.sun_family = AF_UNIX;
      if (options_.host.size() >= sizeof(sun.sun_path)) return "socket path too long: " + options_.host;
      std::memcpy(sun.sun_path, options_.host.c_str(), options_.host.size() + 1);
      return connect_one(AF_UNIX, reinterpret_cast<const sockaddr*>(&sun), sizeof(sun), deadline);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* list = nullptr;
    std::string port = std::to_string(options_.port);
    int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0) return std::string("cannot resolve ") + options_.host + ": " + ::gai_strerror(rc);
    std::string error = "no address";
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      error = connect_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline);
      if (error.empty()) break;
    }
    ::freeaddrinfo(list);
    return error;
  }

  // Sends all of `bytes`; "" on success, else why not.
  std::string send(std::string_view bytes, unsigned timeout_s) {
    Clock::time_point deadline = deadline_in(timeout_s);
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait_fd(fd_, POLLOUT, deadline)) return "timed out after " + std::to_string(timeout_s) + " s";
        continue;
      }
      return std::string("write failed: ") + std::strerror(errno);
    }
    return "";
  }

  // Reads one whole reply into `reply`; "" on success, else why not.
  std::string read_reply(Reply& reply, unsigned timeout_s) {
    Clock::time_point deadline = deadline_in(timeout_s);
    ReplyReader reader;
    for (;;) {
      size_t eol = buf_.find('\n');
      if (eol == std::string::npos) {
        if (buf_.size() > 4096) return "reply line longer than 4096 bytes";
        std::string err = fill(deadline, timeout_s);
        if (!err.empty()) return err;
        continue;
      }
      std::string_view line(buf_.data(), eol);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      bool done = reader.add_line(line);
      buf_.erase(0, eol + 1);
      if (!reader.error().empty()) return reader.error();
      if (done) {
        reply = reader.reply();
        return "";
      }
    }
  }

 private:
  std::string connect_one(int family, const sockaddr* addr, socklen_t len, Clock::time_point deadline) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
    int rc = ::connect(fd, addr, len);
    if (rc != 0 && errno != EINPROGRESS && errno != EAGAIN) {
      std::string err = std::strerror(errno);
      ::close(fd);
      return err;
    }
    if (rc != 0) {
      if (!wait_fd(fd, POLLOUT, deadline)) {
        ::close(fd);
        return "connect timed out after " + std::to_string(timeouts_.connect) + " s";
      }
      int so_error = 0;
      socklen_t so_len = sizeof(so_error);
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0) so_error = errno;
      if (so_error != 0) {
        ::close(fd);
        return std::strerror(so_error);
      }
    }
    fd_ = fd;
    return "";
  }

  std::string fill(Clock::time_point deadline, unsigned timeout_s) {
    char chunk[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buf_.append(chunk, static_cast<size_t>(n));
        return "";
      }
      if (n == 0) return "connection closed by the server";
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!wait_fd(fd_, POLLIN, deadline)) return "timed out after " + std::to_string(timeout_s) + " s";
        continue;
      }
      return std::string("read failed: ") + std::strerror(errno);
    }
  }

  const Options& options_;
  const Timeouts& timeouts_;
  std::string where_;
  int fd_ = -1;
  std::string buf_;
};

// The name for LHLO: this host's name, or "localhost".
std::string lhlo_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  for (const char* p = name; *p != '\0'; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c <= 0x20 || c >= 0x7f) return "localhost";
  }
  return name;
}

// The outcome of the delivery and the line to print.
struct Result {
  Outcome outcome;
  std::string line;
};

Result deliver(const Options& options, const Envelope& envelope, const Timeouts& timeouts) {
  Connection conn(options, timeouts);
  const std::string rcpt = "<" + envelope.recipient + ">";
  if (std::string err = conn.connect(); !err.empty()) {
    return {Outcome::temporary, "cannot connect to LMTP server " + conn.where() + ": " + err};
  }
  // One step: send `command` (if any), read the reply, classify it.
  Reply reply;
  auto step = [&](Stage stage, const std::string& command, unsigned timeout) -> std::optional<Result> {
    if (!command.empty()) {
      if (std::string err = conn.send(command + "\r\n", timeouts.command); !err.empty()) {
        return Result{Outcome::temporary,
                      "sending " + std::string(stage_name(stage)) + " to " + conn.where() + ": " + err};
      }
    }
    if (std::string err = conn.read_reply(reply, timeout); !err.empty()) {
      return Result{Outcome::temporary, "no reply to " + std::string(stage_name(stage)) + " from " + conn.where() +
                                            ": " + err};
    }
    std::optional<Outcome> outcome = classify(stage, reply.code);
    if (!outcome) return std::nullopt;
    if (*outcome == Outcome::delivered) {
      return Result{Outcome::delivered, "delivered " + rcpt + " to " + conn.where() + ": " + reply.summary()};
    }
    return Result{*outcome, conn.where() + " said at " + stage_name(stage) + " for " + rcpt + ": " +
                                reply.summary()};
  };
  auto quit = [&] {
    Reply ignored;
    if (conn.send("QUIT\r\n", 5).empty()) conn.read_reply(ignored, 5);
  };

  if (auto r = step(Stage::greeting, "", timeouts.command)) return *r;
  if (auto r = step(Stage::lhlo, "LHLO " + lhlo_name(), timeouts.command)) {
    quit();
    return *r;
  }
  Reply lhlo = reply;
  if (auto r = step(Stage::mail, mail_command(envelope, lhlo), timeouts.command)) {
    quit();
    return *r;
  }
  if (auto r = step(Stage::rcpt, "RCPT TO:" + rcpt, timeouts.command)) {
    quit();
    return *r;
  }
  if (auto r = step(Stage::data, "DATA", timeouts.command)) {
    quit();
    return *r;
  }
  // The message: stdin, CRLF and dot-stuffed, in chunks. A read error leaves
  // the transaction without its final dot: the server drops it.
  DataEncoder encoder;
  std::vector<char> in(64 * 1024);
  std::string out;
  for (;;) {
    ssize_t n = ::read(0, in.data(), in.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {Outcome::temporary, std::string("reading the message from stdin: ") + std::strerror(errno)};
    out.clear();
    if (n == 0) {
      encoder.finish(out);
    } else {
      encoder.encode(std::string_view(in.data(), static_cast<size_t>(n)), out);
    }
    if (std::string err = conn.send(out, timeouts.command); !err.empty()) {
      return {Outcome::temporary, "sending the message to " + conn.where() + ": " + err};
    }
    if (n == 0) break;
  }
  std::optional<Result> r = step(Stage::final, "", timeouts.final);
  quit();
  // A 2xx/3xx/4xx/5xx always classifies at `final`; nullopt cannot happen.
  return r ? *r : Result{Outcome::temporary, "no verdict from " + conn.where()};
}

int report(Outcome outcome, const std::string& line) {
  std::printf("qmail-lmtp: %s\n", printable(line, 900).c_str());
  std::fflush(stdout);
  return exit_code(outcome);
}

}  // namespace
}  // namespace qmail_lmtp

int main(int argc, char** argv) {
  using namespace qmail_lmtp;
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  ParsedArgs parsed = parse_args(args);
  if (!parsed.options) return report(parsed.failure.outcome, parsed.failure.reason);
  EnvLookup env = [](const char* name) -> const char* { return std::getenv(name); };
  ParsedEnvelope envelope = envelope_from_env(env, parsed.options->strip);
  if (!envelope.envelope) return report(envelope.failure.outcome, envelope.failure.reason);
  Timeouts timeouts = timeouts_from_env(env);
  Result result = deliver(*parsed.options, *envelope.envelope, timeouts);
  return report(result.outcome, result.line);
}

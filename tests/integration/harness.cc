// harness.cc - processes, temp dirs and clients for the integration tests.
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "listgate/io/socket.h"

extern char** environ;

namespace listgate::testing {

std::string listgate_binary() {
  const char* bin = std::getenv("LISTGATE_BIN");
  return bin ? bin : "listgate";
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/listgate-test-XXXXXX";
  path_ = mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& content) const {
  // Write then rename, so a reload never sees half a file.
  std::string tmp = file(name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
  }
  std::filesystem::rename(tmp, file(name));
}

std::string example_table_json() {
  return R"({
  "domains": { "lists.example.org": { "alias_domain": "alias.example.org" } },
  "lists": [
    { "address": "announce@lists.example.org",
      "owners": ["boss@example.org"],
      "members": ["alice@example.com", "bob@example.net"],
      "verp": true },
    { "address": "dev@lists.example.org",
      "backend": "lmtp:[127.0.0.1]:8025" },
    { "address": "team@other.example.net",
      "members": ["carol@example.com"] }
  ]
})";
}

// ---- Process ------------------------------------------------------------------

Process::Process(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // A child must not inherit blocked signals from a test runner.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  if (posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ) != 0) pid_ = -1;
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  reader_ = std::thread([this, fd = pipefd[0]] { read_stderr(fd); });
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
  if (reader_.joinable()) reader_.join();
}

void Process::signal(int sig) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

void Process::read_stderr(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    partial.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      std::lock_guard lock(mu_);
      lines_.push_back(partial.substr(0, nl));
      partial.erase(0, nl + 1);
      cv_.notify_all();
    }
  }
  ::close(fd);
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reaped_) {
    pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  return 128 + WTERMSIG(status_);
}

std::optional<std::string> Process::wait_log(const std::string& needle, std::chrono::milliseconds timeout,
                                             size_t from_line) {
  std::unique_lock lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (size_t i = from_line; i < lines_.size(); ++i)
      if (lines_[i].find(needle) != std::string::npos) return lines_[i];
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (size_t i = from_line; i < lines_.size(); ++i)
        if (lines_[i].find(needle) != std::string::npos) return lines_[i];
      return std::nullopt;
    }
  }
}

size_t Process::log_lines() const {
  std::lock_guard lock(mu_);
  return lines_.size();
}

std::string Process::log() const {
  std::lock_guard lock(mu_);
  std::string all;
  for (const std::string& l : lines_) all += l + "\n";
  return all;
}

// ---- Gateway ------------------------------------------------------------------

namespace {
uint16_t port_from(const std::string& line, const std::string& key) {
  std::smatch m;
  std::regex re(key + "=[^ ]*:([0-9]+)");
  if (std::regex_search(line, m, re)) return static_cast<uint16_t>(std::stoi(m[1]));
  return 0;
}
}  // namespace

Gateway::Gateway(GatewayOptions options) {
  write_table(options.table_json);
  std::string cfg = "[mta]\nlmtp_host: 127.0.0.1\nlmtp_port: 0\n\n[listgate]\n";
  cfg += "table = " + dir_.file("lists.json") + "\n";
  cfg += "hostname = lmtp.test\n";
  cfg += options.metrics ? "metrics = 127.0.0.1:0\n" : "metrics =\n";
  for (const std::string& k : options.listgate_keys) cfg += k + "\n";
  dir_.write("listgate.cfg", cfg);
  std::vector<std::string> argv = {listgate_binary(), "serve", "-c", dir_.file("listgate.cfg"), "--io", options.io};
  if (options.discard) argv.push_back("--discard");
  if (options.refuse_io_uring) {
    const char* wrapper = std::getenv("NO_URING_BIN");
    argv.insert(argv.begin(), wrapper ? wrapper : "no_uring");
  }
  if (options.unix_socket) {
    unix_path_ = dir_.file("lmtp.sock");
    argv.push_back("--lmtp");
    argv.push_back("unix:" + unix_path_);
  }
  process_ = std::make_unique<Process>(argv);
  // Ready when it says where it listens; given up on when it exits first.
  std::optional<std::string> line;
  for (int i = 0; i < 100 && !line; ++i) {
    line = process_->wait_log("event=listening", 100ms);
    if (!line && process_->wait_exit(0ms)) break;
  }
  if (!line) return;
  lmtp_port_ = port_from(*line, "lmtp");
  metrics_port_ = port_from(*line, "metrics");
  started_ = true;
}

std::string Gateway::metrics() {
  auto c = Client::tcp(metrics_port_);
  if (!c) return "";
  c->send("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  std::string all;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{c->fd(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = ::recv(c->fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  size_t body = all.find("\r\n\r\n");
  return body == std::string::npos ? "" : all.substr(body + 4);
}

double Gateway::metric(const std::string& sample) {
  std::string text = metrics();
  size_t pos = 0;
  while ((pos = text.find(sample + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + sample.size() + 1));
    pos += sample.size();
  }
  return -1;
}

// ---- Client -------------------------------------------------------------------

std::unique_ptr<Client> Client::tcp(uint16_t port) {
  auto fd = io::connect_tcp("127.0.0.1", port);
  if (!fd.ok()) return nullptr;
  return std::make_unique<Client>(fd.value());
}

std::unique_ptr<Client> Client::unix_socket(const std::string& path) {
  auto fd = io::connect_unix(path);
  if (!fd.ok()) return nullptr;
  return std::make_unique<Client>(fd.value());
}

Client::~Client() { ::close(fd_); }

bool Client::send(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool Client::fill(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buf[16384];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buf_.append(buf, static_cast<size_t>(n));
  return true;
}

std::string Client::reply(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // A reply ends with a line whose fourth character is a space.
    size_t start = 0;
    size_t nl;
    while ((nl = buf_.find("\r\n", start)) != std::string::npos) {
      if (nl - start >= 4 && buf_[start + 3] == ' ') {
        std::string r = buf_.substr(0, nl + 2);
        buf_.erase(0, nl + 2);
        return r;
      }
      if (nl - start < 4) {  // malformed: hand it over as it is
        std::string r = buf_.substr(0, nl + 2);
        buf_.erase(0, nl + 2);
        return r;
      }
      start = nl + 2;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !fill(left)) return "";
  }
}

std::string Client::code(std::chrono::milliseconds timeout) {
  std::string r = reply(timeout);
  return r.size() >= 3 ? r.substr(0, 3) : r;
}

bool Client::closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
    buf_.append(buf, static_cast<size_t>(n));
  }
  return false;
}

bool greet(Client& c) {
  if (c.code() != "220") return false;
  c.send("LHLO client.test\r\n");
  return c.code() == "250";
}

}  // namespace listgate::testing

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
#include <sstream>

#include "listgate/io/socket.h"

extern char** environ;

namespace listgate::testing {

std::string listgate_binary() {
  const char* bin = std::getenv("LISTGATE_BIN");
  return bin ? bin : "listgate";
}

std::string listgate_sink_binary() {
  const char* bin = std::getenv("LISTGATE_SINK_BIN");
  return bin ? bin : "listgate-sink";
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(every);
  }
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  CommandResult result;
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return result;
  if (pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true;
  bool err_open = true;
  char buf[16384];
  while (pid > 0 && (out_open || err_open) && std::chrono::steady_clock::now() < deadline) {
    pollfd p[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    if (poll(p, 2, 100) <= 0) continue;
    for (int k = 0; k < 2; ++k) {
      if (p[k].revents == 0) continue;
      ssize_t n = ::read(k == 0 ? out[0] : err[0], buf, sizeof buf);
      if (n <= 0) {
        (k == 0 ? out_open : err_open) = false;
      } else {
        (k == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  if (pid <= 0) return result;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      result.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return result;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return result;
    }
    std::this_thread::sleep_for(10ms);
  }
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

std::string table_json(const std::vector<ListSpec>& lists) {
  auto strings = [](const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", \"" : "\"") + v[i] + "\"";
    return out + "]";
  };
  std::string out = "{\n  \"lists\": [\n";
  for (size_t i = 0; i < lists.size(); ++i) {
    const ListSpec& l = lists[i];
    out += "    { \"address\": \"" + l.address + "\"";
    if (!l.members.empty()) out += ", \"members\": " + strings(l.members);
    if (!l.owners.empty()) out += ", \"owners\": " + strings(l.owners);
    if (l.verp) out += ", \"verp\": true";
    if (!l.backend.empty()) out += ", \"backend\": \"" + l.backend + "\"";
    out += i + 1 < lists.size() ? " },\n" : " }\n";
  }
  return out + "  ]\n}\n";
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

Gateway::Gateway(GatewayOptions options) : options_(std::move(options)) {
  write_table(options_.table_json);
  std::string cfg = "[mta]\nlmtp_host: 127.0.0.1\nlmtp_port: 0\n";
  if (options_.smtp_port != 0) cfg += "smtp_host: 127.0.0.1\nsmtp_port: " + std::to_string(options_.smtp_port) + "\n";
  for (const std::string& k : options_.mta_keys) cfg += k + "\n";
  cfg += "\n[listgate]\n";
  cfg += "table = " + dir_.file("lists.json") + "\n";
  cfg += "hostname = lmtp.test\n";
  cfg += "spool_dir = " + spool_dir() + "\n";
  cfg += "bounce_log = " + bounce_log() + "\n";
  cfg += options_.metrics ? "metrics = 127.0.0.1:0\n" : "metrics =\n";
  for (const std::string& k : options_.listgate_keys) cfg += k + "\n";
  dir_.write("listgate.cfg", cfg);
  start();
}

bool Gateway::start() {
  started_ = false;
  lmtp_port_ = 0;
  metrics_port_ = 0;
  std::vector<std::string> argv = {listgate_binary(), "serve", "-c", config_file(), "--io", options_.io};
  if (options_.discard) argv.push_back("--discard");
  if (options_.refuse_io_uring) {
    const char* wrapper = std::getenv("NO_URING_BIN");
    argv.insert(argv.begin(), wrapper ? wrapper : "no_uring");
  }
  if (options_.unix_socket) {
    unix_path_ = dir_.file("lmtp.sock");
    argv.push_back("--lmtp");
    argv.push_back("unix:" + unix_path_);
  }
  process_.reset();  // a stopped one: its reader thread is joined first
  process_ = std::make_unique<Process>(argv);
  // Ready when it says where it listens; given up on when it exits first.
  std::optional<std::string> line;
  for (int i = 0; i < 100 && !line; ++i) {
    line = process_->wait_log("event=listening", 100ms);
    if (!line && process_->wait_exit(0ms)) break;
  }
  if (!line) return false;
  lmtp_port_ = port_from(*line, "lmtp");
  metrics_port_ = port_from(*line, "metrics");
  started_ = true;
  return true;
}

std::optional<int> Gateway::stop(int sig, std::chrono::milliseconds timeout) {
  if (!process_) return std::nullopt;
  process_->signal(sig);
  std::optional<int> status = process_->wait_exit(timeout);
  started_ = false;
  return status;
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

std::string dot_stuff(const std::string& message) {
  std::string out;
  out.reserve(message.size() + 16);
  bool line_start = true;
  for (char ch : message) {
    if (line_start && ch == '.') out += '.';
    out += ch;
    line_start = ch == '\n';
  }
  out += ".\r\n";
  return out;
}

std::string LmtpReplies::for_rcpt(size_t i) const {
  if (i >= rcpt.size()) return "";
  if (rcpt[i].substr(0, 3) != "250") return rcpt[i];
  size_t k = 0;
  for (size_t j = 0; j < i; ++j) k += rcpt[j].substr(0, 3) == "250";
  return k < final.size() ? final[k] : "";
}

LmtpReplies lmtp_transaction(Client& c, const std::string& from, const std::vector<std::string>& rcpts,
                             const std::string& message, std::chrono::milliseconds timeout) {
  return lmtp_transaction_wire(c, from, rcpts, dot_stuff(message), timeout);
}

LmtpReplies lmtp_transaction_wire(Client& c, const std::string& from, const std::vector<std::string>& rcpts,
                                  const std::string& wire, std::chrono::milliseconds timeout) {
  LmtpReplies r;
  std::string envelope = "MAIL FROM:<" + from + ">\r\n";
  for (const std::string& to : rcpts) envelope += "RCPT TO:<" + to + ">\r\n";
  envelope += "DATA\r\n";
  if (!c.send(envelope)) return r;
  r.mail = c.reply(timeout);
  size_t accepted = 0;
  for (size_t i = 0; i < rcpts.size(); ++i) {
    r.rcpt.push_back(c.reply(timeout));
    accepted += r.rcpt.back().substr(0, 3) == "250";
  }
  r.data = c.reply(timeout);
  if (r.data.substr(0, 3) != "354") return r;
  if (!c.send(wire)) return r;
  for (size_t i = 0; i < accepted; ++i) r.final.push_back(c.reply(timeout));
  return r;
}

// ---- Sink -------------------------------------------------------------------------

Sink::Sink(SinkOptions options) {
  std::vector<std::string> argv = {listgate_sink_binary(), "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
                                   "--io", options.io, "--record", record_path()};
  if (options.keep_last) argv.push_back("--keep-last");
  argv.insert(argv.end(), options.flags.begin(), options.flags.end());
  process_ = std::make_unique<Process>(argv);
  std::optional<std::string> line;
  for (int i = 0; i < 100 && !line; ++i) {
    line = process_->wait_log("sink listening", 100ms);
    if (!line && process_->wait_exit(0ms)) break;
  }
  if (!line) return;
  smtp_port_ = port_from(*line, "smtp");
  control_port_ = port_from(*line, "control");
  started_ = smtp_port_ != 0 && control_port_ != 0 && connect_control();
}

Sink::~Sink() {
  if (control_fd_ >= 0) ::close(control_fd_);
}

bool Sink::connect_control() {
  auto fd = io::connect_tcp("127.0.0.1", control_port_);
  if (!fd.ok()) return false;
  control_fd_ = fd.value();
  control_buf_.clear();
  return true;
}

bool Sink::read_line(std::string& line, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    size_t nl = control_buf_.find('\n');
    if (nl != std::string::npos) {
      line = control_buf_.substr(0, nl);
      control_buf_.erase(0, nl + 1);
      return true;
    }
    std::string more;
    if (!read_bytes(more, 0, deadline)) return false;
  }
}

// n == 0: whatever one read brings (appended to control_buf_); else exactly n bytes into `out`.
bool Sink::read_bytes(std::string& out, size_t n, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (n != 0 && control_buf_.size() >= n) {
      out = control_buf_.substr(0, n);
      control_buf_.erase(0, n);
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{control_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    ssize_t got = ::recv(control_fd_, buf, sizeof buf, 0);
    if (got <= 0) return false;
    control_buf_.append(buf, static_cast<size_t>(got));
    if (n == 0) return true;
  }
}

std::string Sink::control(const std::string& command, std::chrono::milliseconds timeout) {
  std::lock_guard lock(control_mu_);
  if (control_fd_ < 0) return "";
  std::string line = command + "\n";
  if (::send(control_fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) return "";
  std::string reply;
  if (!read_line(reply, std::chrono::steady_clock::now() + timeout)) return "";
  return reply;
}

std::optional<std::string> Sink::last() {
  std::lock_guard lock(control_mu_);
  if (control_fd_ < 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  if (::send(control_fd_, "last\n", 5, MSG_NOSIGNAL) != 5) return std::nullopt;
  std::string reply;
  if (!read_line(reply, deadline) || reply.substr(0, 3) != "ok ") return std::nullopt;
  size_t n = std::stoul(reply.substr(3));
  std::string body;
  if (n > 0 && !read_bytes(body, n, deadline)) return std::nullopt;
  return body;
}

std::map<std::string, uint64_t> Sink::stats() {
  std::map<std::string, uint64_t> out;
  std::string reply = control("stats");
  if (reply.substr(0, 3) != "ok ") return out;
  std::istringstream words(reply.substr(3));
  std::string word;
  while (words >> word) {
    size_t eq = word.find('=');
    if (eq == std::string::npos) continue;
    out[word.substr(0, eq)] = std::stoull(word.substr(eq + 1));
  }
  return out;
}

uint64_t Sink::stat(const std::string& key) {
  auto all = stats();
  auto it = all.find(key);
  return it == all.end() ? UINT64_MAX : it->second;
}

std::vector<RecordLine> Sink::record() {
  (void)stats();  // flushes the record file
  std::vector<RecordLine> lines;
  std::ifstream in(record_path(), std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    RecordLine r;
    fields >> r.message_id >> r.rcpt >> r.mail_from >> r.body_bytes;
    lines.push_back(std::move(r));
  }
  return lines;
}

size_t count_records(const std::vector<RecordLine>& record, const std::string& message_id, const std::string& rcpt) {
  size_t n = 0;
  for (const RecordLine& r : record) n += r.message_id == message_id && r.rcpt == rcpt;
  return n;
}

// ---- Bounce log ---------------------------------------------------------------------

std::string json_string_field(const std::string& line, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  size_t pos = line.find(needle);
  if (pos == std::string::npos) return "";
  std::string out;
  for (size_t i = pos + needle.size(); i < line.size(); ++i) {
    char ch = line[i];
    if (ch == '"') return out;
    if (ch == '\\' && i + 1 < line.size()) {
      char e = line[++i];
      switch (e) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': out += "\\u"; break;  // kept as written; the tests do not need it
        default: out += e;
      }
      continue;
    }
    out += ch;
  }
  return out;
}

std::vector<BounceLine> read_bounce_log(const std::string& path) {
  std::vector<BounceLine> out;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    BounceLine b;
    b.raw = line;
    b.list = json_string_field(line, "list");
    b.member = json_string_field(line, "member");
    b.status = json_string_field(line, "status");
    b.diagnostic = json_string_field(line, "diagnostic");
    b.message_id = json_string_field(line, "message_id");
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace listgate::testing

// harness.h - runs a real listgate process and talks LMTP to it over sockets.
//
// Each test gets its own temporary directory (config, table), a gateway on
// port 0 (the bound ports are read from its `event=listening` log line), and
// clients with bounded waits: nothing here can hang a test run.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace listgate::testing {

using namespace std::chrono_literals;

// The path of the listgate binary under test (from the LISTGATE_BIN environment variable).
std::string listgate_binary();

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// The table most tests use: two lists on lists.example.org (one with an
// alias domain), one with a backend.
std::string example_table_json();

struct GatewayOptions {
  std::string io = "epoll";
  std::string table_json = example_table_json();
  std::vector<std::string> listgate_keys;  // extra "key = value" lines for [listgate]
  bool unix_socket = false;
  bool discard = true;
  bool metrics = true;
  bool refuse_io_uring = false;  // run under a seccomp filter that refuses io_uring_setup
};

// A child process whose stderr is collected line by line.
class Process {
 public:
  Process(const std::vector<std::string>& argv);
  ~Process();  // kills it if still running
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Exit status, or nullopt if it did not exit in time (it is then killed).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Waits until a stderr line contains `needle`; returns that line.
  std::optional<std::string> wait_log(const std::string& needle, std::chrono::milliseconds timeout,
                                      size_t from_line = 0);
  size_t log_lines() const;
  std::string log() const;

 private:
  void read_stderr(int fd);
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

class Gateway {
 public:
  explicit Gateway(GatewayOptions options = {});
  bool started() const { return started_; }
  uint16_t lmtp_port() const { return lmtp_port_; }
  uint16_t metrics_port() const { return metrics_port_; }
  const std::string& unix_path() const { return unix_path_; }
  Process& process() { return *process_; }
  TempDir& dir() { return dir_; }
  void write_table(const std::string& json) { dir_.write("lists.json", json); }
  // GET /metrics; returns the body.
  std::string metrics();
  // The value of one metric sample line (exact name with labels), or -1.
  double metric(const std::string& sample);

 private:
  TempDir dir_;
  std::unique_ptr<Process> process_;
  bool started_ = false;
  uint16_t lmtp_port_ = 0;
  uint16_t metrics_port_ = 0;
  std::string unix_path_;
};

// A blocking client with bounded waits.
class Client {
 public:
  static std::unique_ptr<Client> tcp(uint16_t port);
  static std::unique_ptr<Client> unix_socket(const std::string& path);
  explicit Client(int fd) : fd_(fd) {}
  ~Client();
  bool send(const std::string& bytes);
  // One whole reply (all lines of a multi-line reply), or "" on timeout/EOF.
  std::string reply(std::chrono::milliseconds timeout = 5s);
  // The first three characters of reply().
  std::string code(std::chrono::milliseconds timeout = 5s);
  // True when the server closed the connection (EOF) within the timeout.
  bool closed(std::chrono::milliseconds timeout = 5s);
  int fd() const { return fd_; }

 private:
  bool fill(std::chrono::milliseconds timeout);
  int fd_;
  std::string buf_;
};

// LHLO and a greeting check, so tests start from a ready session.
bool greet(Client& c);

}  // namespace listgate::testing

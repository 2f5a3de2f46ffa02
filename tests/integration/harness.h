// harness.h - runs a real listgate process and talks LMTP to it over sockets.
//
// Each test gets its own temporary directory (config, table), a gateway on
// port 0 (the bound ports are read from its `event=listening` log line), and
// clients with bounded waits: nothing here can hang a test run.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
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
// The path of listgate-sink (from the LISTGATE_SINK_BIN environment variable).
std::string listgate_sink_binary();

// Polls `pred` every `every` until it holds or `timeout` passed; returns its last value.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 50ms);

// Runs a command to its end (killed after `timeout`) and collects its output.
struct CommandResult {
  std::optional<int> exit;  // nullopt: did not finish in time
  std::string out;
  std::string err;
};
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 20s);

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

// One list of a generated table.
struct ListSpec {
  std::string address;
  std::vector<std::string> members;
  std::vector<std::string> owners;
  bool verp = false;
  std::string backend;  // e.g. "smtp:[127.0.0.1]:2525"; empty: none
};
// A table JSON with these lists and no domain settings.
std::string table_json(const std::vector<ListSpec>& lists);

struct GatewayOptions {
  std::string io = "epoll";
  std::string table_json = example_table_json();
  std::vector<std::string> listgate_keys;  // extra "key = value" lines for [listgate]
  std::vector<std::string> mta_keys;       // extra "key = value" lines for [mta]
  // Relay mode (discard = false): the outbound MTA is 127.0.0.1:smtp_port
  // (0 leaves Mailman's default, localhost:25). spool_dir and bounce_log are
  // always in the gateway's own temporary directory (Gateway::spool_dir()).
  uint16_t smtp_port = 0;
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
  // Writes the config and table into a fresh temporary directory and starts listgate.
  explicit Gateway(GatewayOptions options = {});
  // Starts listgate again (after stop()) with the same config, table, spool
  // and bounce log; the LMTP and metrics ports are new. Returns started().
  bool start();
  // Sends `sig` and waits for the exit; its status, or nullopt (then killed).
  std::optional<int> stop(int sig = SIGTERM, std::chrono::milliseconds timeout = 30s);
  bool started() const { return started_; }
  std::string config_file() const { return dir_.file("listgate.cfg"); }
  std::string spool_dir() const { return dir_.file("spool"); }
  std::string bounce_log() const { return dir_.file("bounces.jsonl"); }
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
  GatewayOptions options_;
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

// A message as the client has it (CRLF lines) made wire-ready: dots stuffed
// and the final ".\r\n" added. `message` must end in CRLF.
std::string dot_stuff(const std::string& message);

// The replies of one LMTP transaction. MAIL, the RCPTs and DATA go in one
// write (PIPELINING); the message follows once DATA got 354.
struct LmtpReplies {
  std::string mail;
  std::vector<std::string> rcpt;
  std::string data;
  std::vector<std::string> final;  // one per RCPT answered 250, in RCPT order
  // The final reply of the i-th RCPT, or its RCPT reply when it was refused.
  std::string for_rcpt(size_t i) const;
};
LmtpReplies lmtp_transaction(Client& c, const std::string& from, const std::vector<std::string>& rcpts,
                             const std::string& message, std::chrono::milliseconds timeout = 30s);
// The same with the message in wire form as it is (stuffing and final dot included).
LmtpReplies lmtp_transaction_wire(Client& c, const std::string& from, const std::vector<std::string>& rcpts,
                                  const std::string& wire, std::chrono::milliseconds timeout = 30s);

// ---- The SMTP sink ----------------------------------------------------------------

struct SinkOptions {
  std::string io = "epoll";
  std::vector<std::string> flags;  // more flags: faults, --delay-ms, --seed, ...
  bool keep_last = true;
};

// One line of the sink's record file: MESSAGE_ID RCPT MAIL_FROM BODY_BYTES.
struct RecordLine {
  std::string message_id;
  std::string rcpt;
  std::string mail_from;
  uint64_t body_bytes = 0;
};

// listgate-sink on 127.0.0.1 port 0, its control port on port 0, and its
// record file in a temporary directory of its own.
class Sink {
 public:
  explicit Sink(SinkOptions options = {});
  ~Sink();
  bool started() const { return started_; }
  uint16_t smtp_port() const { return smtp_port_; }
  uint16_t control_port() const { return control_port_; }
  Process& process() { return *process_; }
  std::string record_path() const { return dir_.file("record"); }

  // One control command; its reply line without the "\n", or "" when none came.
  std::string control(const std::string& command, std::chrono::milliseconds timeout = 10s);
  // The last accepted body (control `last`), or nullopt.
  std::optional<std::string> last();
  // The counters of `stats` (which also flushes the record file).
  std::map<std::string, uint64_t> stats();
  uint64_t stat(const std::string& key);
  // The record file's lines, after a flush.
  std::vector<RecordLine> record();

 private:
  bool connect_control();
  bool read_line(std::string& line, std::chrono::steady_clock::time_point deadline);
  bool read_bytes(std::string& out, size_t n, std::chrono::steady_clock::time_point deadline);

  TempDir dir_;
  std::unique_ptr<Process> process_;
  bool started_ = false;
  uint16_t smtp_port_ = 0;
  uint16_t control_port_ = 0;
  int control_fd_ = -1;
  std::string control_buf_;
  std::mutex control_mu_;
};

// Record lines for one message id and recipient.
size_t count_records(const std::vector<RecordLine>& record, const std::string& message_id, const std::string& rcpt);

// ---- The bounce log -------------------------------------------------------------------

struct BounceLine {
  std::string raw;
  std::string list;
  std::string member;
  std::string status;
  std::string diagnostic;
  std::string message_id;
};
// The string value of `key` in a one-line JSON object ("" when absent).
std::string json_string_field(const std::string& line, const std::string& key);
std::vector<BounceLine> read_bounce_log(const std::string& path);

}  // namespace listgate::testing

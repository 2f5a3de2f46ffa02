// child_process.h - the servers e2e starts: spawn, wait for a line, stop.
//
// A child's stdout and stderr go to a log file; start-up lines (the bound
// ports) are read from there. The child gets SIGKILL if this process dies
// (PR_SET_PDEATHSIG), and the destructor kills one that is still running,
// so no server outlives a failed run.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/result.h"

namespace listgate::loadbench {

class ChildProcess {
 public:
  // Starts argv[0] with `argv`, output to `log_path`, pinned to `cpu` (-1: not pinned).
  static Result<ChildProcess> spawn(std::string name, const std::vector<std::string>& argv, std::string log_path,
                                    int cpu);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

  // The first log line containing `needle`; an error (with the log's tail)
  // when the child exits first or `timeout` passes.
  Result<std::string> wait_for_line(std::string_view needle, std::chrono::milliseconds timeout);
  // The last `lines` lines of the log.
  std::string log_tail(size_t lines) const;

  // SIGTERM, then SIGKILL after `grace`. The exit status, or 128 + signal.
  int stop(std::chrono::milliseconds grace);

 private:
  ChildProcess(std::string name, std::string log_path, pid_t pid)
      : name_(std::move(name)), log_path_(std::move(log_path)), pid_(pid) {}
  bool exited(int* status);

  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// The whole file (empty when it cannot be read).
std::string read_text_file(const std::string& path);

}  // namespace listgate::loadbench

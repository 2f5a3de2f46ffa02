// child_process.cc - see child_process.h.
#include "child_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "listgate/base/concat.h"

namespace listgate::loadbench {
namespace {

constexpr std::chrono::milliseconds kPoll{10};

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const std::vector<char*>& args, const char* log_path, int cpu) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::sched_setaffinity(0, sizeof set, &set);
  }
  const int log = ::open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0) ::_exit(127);
  ::dup2(null, STDIN_FILENO);
  ::dup2(log, STDOUT_FILENO);
  ::dup2(log, STDERR_FILENO);
  ::execv(args[0], args.data());
  const char* why = std::strerror(errno);
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, "exec failed: ", 13);
  n = ::write(STDERR_FILENO, why, std::strlen(why));
  n = ::write(STDERR_FILENO, "\n", 1);
  ::_exit(127);
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Result<ChildProcess> ChildProcess::spawn(std::string name, const std::vector<std::string>& argv,
                                         std::string log_path, int cpu) {
  if (argv.empty()) return make_error("nothing to run");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return make_error(concat({"fork: ", std::strerror(errno)}));
  if (pid == 0) exec_child(args, log_path.c_str(), cpu);
  return ChildProcess(std::move(name), std::move(log_path), pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : name_(std::move(other.name_)), log_path_(std::move(other.log_path_)), pid_(std::exchange(other.pid_, -1)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool ChildProcess::exited(int* status) {
  if (pid_ <= 0) return true;
  if (::waitpid(pid_, status, WNOHANG) != pid_) return false;
  pid_ = -1;
  return true;
}

Result<std::string> ChildProcess::wait_for_line(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string text = read_text_file(log_path_);
    if (const size_t at = text.find(needle); at != std::string::npos) {
      const size_t end = text.find('\n', at);
      if (end != std::string::npos) {
        const size_t begin = text.rfind('\n', at);
        const size_t from = begin == std::string::npos ? 0 : begin + 1;
        return text.substr(from, end - from);
      }
    }
    int status = 0;
    if (exited(&status)) {
      return make_error(concat({name_, " exited (status ", std::to_string(status_code(status)),
                                ") before saying '", needle, "':\n", log_tail(20)}));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return make_error(concat({name_, " did not say '", needle, "' in time:\n", log_tail(20)}));
    }
    std::this_thread::sleep_for(kPoll);
  }
}

std::string ChildProcess::log_tail(size_t lines) const {
  const std::string text = read_text_file(log_path_);
  size_t at = text.size();
  if (at > 0 && text[at - 1] == '\n') --at;
  for (size_t n = 0; n < lines && at > 0; ++n) {
    const size_t nl = text.rfind('\n', at - 1);
    at = nl == std::string::npos ? 0 : nl;
  }
  return text.substr(at == 0 ? 0 : at + 1);
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  const pid_t pid = pid_;
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (!exited(&status)) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(kPoll);
  }
  return status_code(status);
}

}  // namespace listgate::loadbench

// postmap.cc - posix_spawn, output through a pipe, a bounded wait.
#include "listgate/mta/postmap.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "listgate/base/concat.h"

extern char** environ;

namespace listgate::mta {
namespace {

constexpr size_t kMaxOutput = 2048;  // enough for postmap's complaint

std::string command_text(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& word : argv) out += (out.empty() ? "" : " ") + word;
  return out;
}

// The child starts with default signal handling and nothing blocked: the
// server blocks SIGHUP/SIGTERM for its signalfd, and a blocked mask is
// inherited across exec.
void reset_signals(posix_spawnattr_t& attr) {
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGHUP, SIGTERM, SIGINT, SIGPIPE, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  // Its own process group, so that a timeout kills what it started too.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
}

// Reads the child's output until EOF or the deadline; false on timeout.
bool collect_output(int fd, std::string& output, std::chrono::steady_clock::time_point deadline) {
  char buffer[512];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    if (output.size() < kMaxOutput) output.append(buffer, std::min<size_t>(n, kMaxOutput - output.size()));
  }
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

std::vector<std::string> split_command(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : command) {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

Result<void> run_postmap(const std::vector<std::string>& words, const std::string& file,
                         std::chrono::milliseconds timeout) {
  if (words.empty()) return make_error("postmap_command is empty");
  std::vector<std::string> argv = words;
  argv.push_back(concat({"hash:", file}));
  const std::string shown = command_text(argv);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return make_error(concat({shown, ": pipe: ", std::strerror(errno)}));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  reset_signals(attr);
  std::vector<char*> args;
  for (std::string& word : argv) args.push_back(word.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return make_error(concat({shown, ": cannot run: ", std::strerror(spawned)}));
  }

  std::string output;
  const bool finished = collect_output(pipe_fds[0], output, std::chrono::steady_clock::now() + timeout);
  ::close(pipe_fds[0]);
  if (!finished) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) return make_error(concat({shown, ": killed after ", std::to_string(timeout.count()), " ms"}));
  std::string why;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status)) why = concat({"exit status ", std::to_string(WEXITSTATUS(status))});
  else if (WIFSIGNALED(status)) why = concat({"killed by signal ", std::to_string(WTERMSIG(status))});
  else why = "failed";
  output = one_line(std::move(output));
  return make_error(concat({shown, ": ", why, output.empty() ? "" : ": ", output}));
}

}  // namespace listgate::mta

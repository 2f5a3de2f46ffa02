// signals.cc - blocking signals and reading them from a signalfd.
#include "listgate/io/signals.h"

#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace listgate::io {

Result<int> open_signalfd(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return make_error(std::string("sigprocmask: ") + std::strerror(errno));
  ::signal(SIGPIPE, SIG_IGN);
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return make_error(std::string("signalfd: ") + std::strerror(errno));
  return fd;
}

}  // namespace listgate::io

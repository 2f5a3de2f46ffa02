// worker_handoff.cc - the worker thread and its eventfd hand-back.
#include "worker_handoff.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace listgate::app {

WorkerHandoff::WorkerHandoff(io::Reactor& reactor) : reactor_(reactor) {}

WorkerHandoff::~WorkerHandoff() {
  if (worker_.joinable()) worker_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

Result<void> WorkerHandoff::start() {
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) return make_error(std::string("eventfd: ") + std::strerror(errno));
  return reactor_.watch_readable(event_fd_, [this] { on_wakeup(); });
}

void WorkerHandoff::run(Job job) {
  if (worker_.joinable()) {
    next_ = std::move(job);
    return;
  }
  launch(std::move(job));
}

void WorkerHandoff::launch(Job job) {
  worker_ = std::thread([this, job = std::move(job)] {
    completion_ = job();
    uint64_t one = 1;
    // The eventfd write is the hand-off point: the reactor reads completion_ after it.
    [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
  });
}

void WorkerHandoff::on_wakeup() {
  uint64_t count = 0;
  if (::read(event_fd_, &count, sizeof count) != sizeof count) return;
  if (!worker_.joinable()) return;
  worker_.join();
  Completion completion = std::move(completion_);
  completion_ = nullptr;
  if (completion) completion();
  // The completion may have asked for a job itself, which then already runs
  // (and next_, if any, waits for it).
  if (next_ && !worker_.joinable()) {
    Job job = std::move(*next_);
    next_.reset();
    launch(std::move(job));
  }
}

}  // namespace listgate::app

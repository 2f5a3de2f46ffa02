// worker_handoff.h - runs slow jobs one at a time on a worker thread and
// hands each outcome back to the reactor thread through an eventfd.
//
// A job runs on the worker and returns the completion that is to run on the
// reactor thread (it carries the job's outcome). The worker stores the
// completion, then writes the eventfd; the reactor joins the worker and runs
// it. A job asked for while another runs waits for it, and a newer one
// replaces it: only the latest request matters (the newest table, one more
// reload). TableReloader and MapRefresher are built on this.
#pragma once

#include <functional>
#include <optional>
#include <thread>

#include "listgate/base/result.h"
#include "listgate/io/reactor.h"

namespace listgate::app {

class WorkerHandoff {
 public:
  using Completion = std::function<void()>;
  using Job = std::function<Completion()>;

  explicit WorkerHandoff(io::Reactor& reactor);
  // Waits for a running job; its completion does not run.
  ~WorkerHandoff();
  WorkerHandoff(const WorkerHandoff&) = delete;
  WorkerHandoff& operator=(const WorkerHandoff&) = delete;

  Result<void> start();
  // On the reactor thread: runs `job` now, or after the one that runs.
  void run(Job job);
  bool busy() const { return worker_.joinable(); }

 private:
  void launch(Job job);
  void on_wakeup();

  io::Reactor& reactor_;
  int event_fd_ = -1;
  std::thread worker_;
  // Written by the worker before it signals the eventfd, read after.
  Completion completion_;
  std::optional<Job> next_;  // asked for while the worker ran
};

}  // namespace listgate::app

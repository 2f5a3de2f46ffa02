// epoll_reactor.h - the epoll backend: readiness, then recv/sendmsg/accept4.
//
// For machines (and containers) where io_uring is not allowed. Level
// triggered: a paused connection simply drops EPOLLIN from its mask.
#pragma once

#include <memory>
#include <vector>

#include "listgate/io/reactor.h"

namespace listgate::io {

class EpollReactor final : public Reactor {
 public:
  static Result<std::unique_ptr<EpollReactor>> create();
  ~EpollReactor() override;
  const char* backend_name() const override { return "epoll"; }
  Result<void> listen(int listen_fd, std::function<void(int fd)> on_accept) override;
  void stop_listening() override;
  Result<void> watch_readable(int fd, std::function<void()> on_ready) override;

 protected:
  void arm_read(Connection& c) override;
  void disarm_read(Connection& c) override;
  void start_send(Connection& c) override;
  void start_close(Connection& c) override;
  void start_connect(Connection& c) override;
  void wait_and_dispatch(int timeout_ms) override;

 private:
  struct Source;  // what an epoll event points at
  EpollReactor() = default;
  Result<void> add_source(std::unique_ptr<Source> s);
  void update_mask(Connection& c);
  void on_readable(Connection& c);
  void try_send(Connection& c);
  void accept_all(Source& s);

  int epfd_ = -1;
  std::vector<std::unique_ptr<Source>> sources_;  // listeners and watches
};

}  // namespace listgate::io

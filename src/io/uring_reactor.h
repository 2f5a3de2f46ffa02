// uring_reactor.h - the io_uring backend.
//
// Multishot accept, multishot recv into a provided buffer ring (the kernel
// picks a pooled buffer per completion, so an idle connection holds no
// buffer), sendmsg for the batched writes, multishot poll for signalfd and
// eventfd, and one io_uring_enter per loop turn that both submits and waits.
#pragma once

#include <liburing.h>

#include <memory>
#include <vector>

#include "listgate/io/reactor.h"

namespace listgate::io {

class UringReactor final : public Reactor {
 public:
  static Result<std::unique_ptr<UringReactor>> create();
  ~UringReactor() override;
  const char* backend_name() const override { return "io_uring"; }
  size_t idle_buffers() const override { return in_ring_; }
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
  struct Source;
  UringReactor() = default;
  Result<void> init();
  io_uring_sqe* get_sqe();
  void arm_accept(Source& s);
  void arm_poll(Source& s);
  void handle(io_uring_cqe* cqe);
  void handle_recv(Connection& c, io_uring_cqe* cqe);
  void op_done(Connection& c);
  // Buffer ring bookkeeping.
  void ring_add(Buffer* b);
  void top_up_ring();
  static bool take_back(void* self, Buffer* b);

  io_uring ring_{};
  bool ring_ok_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  unsigned in_ring_ = 0;        // buffers the kernel may fill now
  unsigned ring_added_ = 0;     // added since the last advance
  std::vector<Connection*> starved_;  // recv stopped for lack of buffers
  std::vector<std::unique_ptr<Source>> sources_;
};

}  // namespace listgate::io

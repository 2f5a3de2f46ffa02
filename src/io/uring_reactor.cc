// uring_reactor.cc - the io_uring backend.
#include "uring_reactor.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace listgate::io {

namespace {
constexpr unsigned kSqEntries = 4096;
constexpr unsigned kCqEntries = 65536;
// Provided buffers the kernel can pick from; a power of two.
constexpr unsigned kBufRingEntries = 1024;
constexpr int kBufGroup = 0;

// user_data: a pointer with the operation in its low three bits.
enum Op : uintptr_t { op_recv = 0, op_send = 1, op_accept = 2, op_poll = 3, op_ignore = 4, op_connect = 5 };
constexpr uintptr_t kOpMask = 7;

uint64_t tag(void* p, Op op) { return reinterpret_cast<uintptr_t>(p) | op; }

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}
}  // namespace

struct UringReactor::Source {
  int fd = -1;
  bool listener = false;
  bool stopped = false;
  std::function<void(int)> on_accept;
  std::function<void()> on_ready;
};

Result<std::unique_ptr<UringReactor>> UringReactor::create() {
  std::unique_ptr<UringReactor> r(new UringReactor());
  auto ok = r->init();
  if (!ok.ok()) return ok.error();
  return r;
}

Result<void> UringReactor::init() {
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = kCqEntries;
  int rc = io_uring_queue_init_params(kSqEntries, &ring_, &p);
  if (rc == -EINVAL) {  // kernels before 6.1 lack DEFER_TASKRUN
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = kCqEntries;
    rc = io_uring_queue_init_params(kSqEntries, &ring_, &p);
  }
  if (rc < 0) return make_error(errno_text("io_uring_queue_init", -rc));
  ring_ok_ = true;
  if (!(p.features & IORING_FEAT_EXT_ARG)) return make_error("kernel lacks IORING_FEAT_EXT_ARG");

  buf_ring_bytes_ = kBufRingEntries * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return make_error(errno_text("mmap", errno));
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(buf_ring_);
  reg.ring_entries = kBufRingEntries;
  reg.bgid = kBufGroup;
  rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) return make_error(errno_text("io_uring_register_buf_ring", -rc));
  pool_.set_return_hook(&UringReactor::take_back, this);
  top_up_ring();
  return {};
}

UringReactor::~UringReactor() {
  pool_.set_return_hook(nullptr, nullptr);
  if (ring_ok_) io_uring_queue_exit(&ring_);
  if (buf_ring_) munmap(buf_ring_, buf_ring_bytes_);
  for (auto& s : sources_)
    if (s->listener && s->fd >= 0) ::close(s->fd);
}

io_uring_sqe* UringReactor::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {  // full: hand what we have to the kernel now
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

// ---- provided buffers -------------------------------------------------------

void UringReactor::ring_add(Buffer* b) {
  io_uring_buf_ring_add(buf_ring_, b->data(), b->capacity(), b->id(),
                        io_uring_buf_ring_mask(kBufRingEntries), static_cast<int>(ring_added_));
  ++ring_added_;
  ++in_ring_;
}

bool UringReactor::take_back(void* self, Buffer* b) {
  auto* r = static_cast<UringReactor*>(self);
  if (r->in_ring_ >= kBufRingEntries) return false;
  r->ring_add(b);
  return true;
}

void UringReactor::top_up_ring() {
  while (in_ring_ < kBufRingEntries) {
    Buffer* b = pool_.take_free();
    if (b == nullptr) break;
    ring_add(b);
  }
  if (ring_added_ > 0) {
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(ring_added_));
    ring_added_ = 0;
  }
}

// ---- listeners and watches --------------------------------------------------

Result<void> UringReactor::listen(int listen_fd, std::function<void(int)> on_accept) {
  auto s = std::make_unique<Source>();
  s->fd = listen_fd;
  s->listener = true;
  s->on_accept = std::move(on_accept);
  arm_accept(*s);
  sources_.push_back(std::move(s));
  return {};
}

void UringReactor::arm_accept(Source& s) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_multishot_accept(sqe, s.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag(&s, op_accept));
}

void UringReactor::stop_listening() {
  for (auto& s : sources_) {
    if (!s->listener || s->stopped) continue;
    s->stopped = true;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel_fd(sqe, s->fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, op_ignore);
  }
}

Result<void> UringReactor::watch_readable(int fd, std::function<void()> on_ready) {
  auto s = std::make_unique<Source>();
  s->fd = fd;
  s->on_ready = std::move(on_ready);
  arm_poll(*s);
  sources_.push_back(std::move(s));
  return {};
}

void UringReactor::arm_poll(Source& s) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_poll_multishot(sqe, s.fd, POLLIN);
  io_uring_sqe_set_data64(sqe, tag(&s, op_poll));
}

// ---- connections ------------------------------------------------------------

void UringReactor::arm_read(Connection& c) {
  if (c.read_armed_) return;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_recv_multishot(sqe, c.fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufGroup;
  io_uring_sqe_set_data64(sqe, tag(&c, op_recv));
  c.read_armed_ = true;
  ++c.inflight_;
}

void UringReactor::disarm_read(Connection& c) {
  if (!c.read_armed_) return;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel64(sqe, tag(&c, op_recv), 0);
  io_uring_sqe_set_data64(sqe, op_ignore);
  // read_armed_ stays true until the recv's last completion arrives.
}

void UringReactor::start_send(Connection& c) {
  c.msg_ = msghdr{};
  c.msg_.msg_iov = c.iov_.data();
  c.msg_.msg_iovlen = c.iov_.size();
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_sendmsg(sqe, c.fd_, &c.msg_, MSG_NOSIGNAL | MSG_WAITALL);
  io_uring_sqe_set_data64(sqe, tag(&c, op_send));
  ++c.inflight_;
}

void UringReactor::start_connect(Connection& c) {
  // Writability of a connecting socket means the connect finished (SO_ERROR says how).
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_poll_add(sqe, c.fd_, POLLOUT);
  io_uring_sqe_set_data64(sqe, tag(&c, op_connect));
  ++c.inflight_;
}

void UringReactor::start_close(Connection& c) {
  if (c.released_) return;
  if (c.inflight_ == 0) {
    ::close(c.fd_);
    release(c);
    return;
  }
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel_fd(sqe, c.fd_, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, op_ignore);
  // op_done() closes and releases once the last operation completes.
}

void UringReactor::op_done(Connection& c) {
  --c.inflight_;
  if (c.closing_ && c.inflight_ == 0 && !c.send_inflight_ && c.pending_bytes_ == 0) {
    ::close(c.fd_);
    release(c);
  }
}

void UringReactor::handle_recv(Connection& c, io_uring_cqe* cqe) {
  bool more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) c.read_armed_ = false;
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    --in_ring_;
    Buffer* b = pool_.by_id(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    BufferRef ref(b);  // the kernel's claim becomes ours; dropping it returns b
    if (cqe->res > 0) deliver_data(c, Slice{std::move(ref), 0, static_cast<uint32_t>(cqe->res)});
  }
  if (!more) {
    int res = cqe->res;
    if (res == 0) {
      deliver_peer_closed(c, 0);
    } else if (res == -ENOBUFS) {
      starved_.push_back(&c);  // re-armed once the ring has buffers again
      ++c.inflight_;           // keep c alive until then
    } else if (res < 0 && res != -ECANCELED) {
      deliver_peer_closed(c, -res);
    } else if (!c.closing_ && !c.paused_ && !c.peer_closed_) {
      arm_read(c);  // the kernel ended the multishot, or a pause was undone
    }
    op_done(c);
  }
}

void UringReactor::handle(io_uring_cqe* cqe) {
  uint64_t data = io_uring_cqe_get_data64(cqe);
  auto op = static_cast<Op>(data & kOpMask);
  void* p = reinterpret_cast<void*>(data & ~kOpMask);
  switch (op) {
    case op_recv:
      handle_recv(*static_cast<Connection*>(p), cqe);
      break;
    case op_send: {
      auto& c = *static_cast<Connection*>(p);
      send_finished(c, cqe->res);
      op_done(c);
      break;
    }
    case op_accept: {
      auto& s = *static_cast<Source*>(p);
      if (cqe->res >= 0) {
        if (s.stopped) {
          ::close(cqe->res);
        } else {
          s.on_accept(cqe->res);
        }
      }
      if (!(cqe->flags & IORING_CQE_F_MORE)) {
        if (s.stopped) {
          if (s.fd >= 0) ::close(s.fd);
          s.fd = -1;
        } else {
          arm_accept(s);
        }
      }
      break;
    }
    case op_poll: {
      auto& s = *static_cast<Source*>(p);
      if (cqe->res > 0) s.on_ready();
      if (!(cqe->flags & IORING_CQE_F_MORE)) arm_poll(s);
      break;
    }
    case op_connect: {
      auto& c = *static_cast<Connection*>(p);
      if (!c.closing_) {
        int err = 0;
        socklen_t len = sizeof err;
        if (cqe->res < 0) {
          err = -cqe->res;
        } else if (getsockopt(c.fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
        connect_finished(c, err);
      }
      op_done(c);
      break;
    }
    case op_ignore:
      break;
  }
}

void UringReactor::wait_and_dispatch(int timeout_ms) {
  top_up_ring();
  if (!starved_.empty()) {
    std::vector<Connection*> waiting;
    waiting.swap(starved_);
    for (Connection* c : waiting) {
      bool wants_data = !c->closing_ && !c->paused_ && !c->peer_closed_;
      if (wants_data && in_ring_ == 0) {
        starved_.push_back(c);
        continue;
      }
      if (wants_data) arm_read(*c);
      op_done(*c);
    }
  }
  io_uring_cqe* cqe = nullptr;
  if (timeout_ms < 0) {
    io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  // Handling may queue new work; the next turn's enter submits it.
  for (;;) {
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      handle(cqe);
      ++seen;
    }
    if (seen == 0) break;
    io_uring_cq_advance(&ring_, seen);
  }
}

// ---- probing ----------------------------------------------------------------

std::string uring_unavailable_reason() {
  // Not just "does io_uring_setup work": a functional test of what the
  // backend depends on (provided buffer ring, multishot recv), on a socketpair.
  io_uring ring{};
  int rc = io_uring_queue_init(8, &ring, 0);
  if (rc < 0) return errno_text("io_uring_setup", -rc);
  std::string reason;
  int sv[2] = {-1, -1};
  void* mem = MAP_FAILED;
  constexpr unsigned kEntries = 2;
  char bufs[kEntries][64];
  do {
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    if (probe == nullptr) { reason = "io_uring probe failed"; break; }
    bool ops = io_uring_opcode_supported(probe, IORING_OP_RECV) &&
               io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
               io_uring_opcode_supported(probe, IORING_OP_ACCEPT) &&
               io_uring_opcode_supported(probe, IORING_OP_POLL_ADD) &&
               io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL);
    io_uring_free_probe(probe);
    if (!ops) { reason = "io_uring lacks recv/sendmsg/accept/poll/cancel"; break; }
    mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) { reason = errno_text("mmap", errno); break; }
    auto* br = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(br);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uintptr_t>(br);
    reg.ring_entries = kEntries;
    reg.bgid = 1;
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0) { reason = errno_text("io_uring_register_buf_ring", -rc); break; }
    for (unsigned i = 0; i < kEntries; ++i)
      io_uring_buf_ring_add(br, bufs[i], sizeof bufs[i], i, io_uring_buf_ring_mask(kEntries), i);
    io_uring_buf_ring_advance(br, kEntries);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      reason = errno_text("socketpair", errno);
      break;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, sv[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 1;
    io_uring_submit(&ring);
    if (::write(sv[1], "x", 1) != 1) { reason = errno_text("write", errno); break; }
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{1, 0};
    rc = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
    if (rc < 0) { reason = errno_text("multishot recv", -rc); break; }
    if (cqe->res != 1 || !(cqe->flags & IORING_CQE_F_BUFFER) || !(cqe->flags & IORING_CQE_F_MORE)) {
      reason = cqe->res < 0 ? errno_text("multishot recv", -cqe->res)
                            : "multishot recv with provided buffers not supported";
    }
    io_uring_cqe_seen(&ring, cqe);
  } while (false);
  if (sv[0] >= 0) ::close(sv[0]);
  if (sv[1] >= 0) ::close(sv[1]);
  io_uring_queue_exit(&ring);
  if (mem != MAP_FAILED) munmap(mem, 4096);
  return reason;
}

}  // namespace listgate::io

// epoll_reactor.cc - the epoll backend.
#include "epoll_reactor.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace listgate::io {

namespace {
constexpr int kMaxEvents = 256;
// Reads per readable connection per turn, so one busy peer cannot starve others.
constexpr int kReadsPerTurn = 4;
int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}
// Low bit of epoll_event.data marks a Source (listener/watch) rather than a Connection.
constexpr uintptr_t kSourceTag = 1;
}  // namespace

struct EpollReactor::Source {
  int fd = -1;
  bool listener = false;
  std::function<void(int)> on_accept;
  std::function<void()> on_ready;
};

Result<std::unique_ptr<EpollReactor>> EpollReactor::create() {
  std::unique_ptr<EpollReactor> r(new EpollReactor());
  r->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (r->epfd_ < 0) return make_error(std::string("epoll_create1: ") + std::strerror(errno));
  return r;
}

EpollReactor::~EpollReactor() {
  if (epfd_ >= 0) ::close(epfd_);
}

Result<void> EpollReactor::add_source(std::unique_ptr<Source> s) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(s.get()) | kSourceTag);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, s->fd, &ev) != 0)
    return make_error(std::string("epoll_ctl: ") + std::strerror(errno));
  sources_.push_back(std::move(s));
  return {};
}

Result<void> EpollReactor::listen(int listen_fd, std::function<void(int)> on_accept) {
  auto s = std::make_unique<Source>();
  s->fd = listen_fd;
  s->listener = true;
  s->on_accept = std::move(on_accept);
  return add_source(std::move(s));
}

void EpollReactor::stop_listening() {
  for (auto& s : sources_) {
    if (!s->listener || s->fd < 0) continue;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, s->fd, nullptr);
    ::close(s->fd);
    s->fd = -1;
  }
}

Result<void> EpollReactor::watch_readable(int fd, std::function<void()> on_ready) {
  auto s = std::make_unique<Source>();
  s->fd = fd;
  s->on_ready = std::move(on_ready);
  return add_source(std::move(s));
}

void EpollReactor::update_mask(Connection& c) {
  epoll_event ev{};
  ev.events = 0;
  if (c.read_armed_) ev.events |= EPOLLIN | EPOLLRDHUP;
  if (c.send_inflight_ || c.connecting_) ev.events |= EPOLLOUT;
  // Most sends finish at once and leave the mask as it was: no syscall then.
  if (ev.events == c.epoll_events_) return;
  ev.data.ptr = &c;
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd_, &ev) == 0) c.epoll_events_ = ev.events;
}

void EpollReactor::arm_read(Connection& c) {
  if (c.inflight_ == 0) {  // first time: register the fd
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = &c;
    c.read_armed_ = true;
    c.inflight_ = 1;  // "registered with epoll"
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd_, &ev) == 0) c.epoll_events_ = ev.events;
    return;
  }
  c.read_armed_ = true;
  update_mask(c);
}

void EpollReactor::start_connect(Connection& c) {
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.ptr = &c;
  c.inflight_ = 1;  // "registered with epoll"
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd_, &ev) != 0) {
    c.inflight_ = 0;
    connect_finished(c, errno);
    return;
  }
  c.epoll_events_ = ev.events;
}

void EpollReactor::disarm_read(Connection& c) {
  if (!c.read_armed_) return;
  c.read_armed_ = false;
  update_mask(c);
}

void EpollReactor::start_send(Connection& c) { try_send(c); }

void EpollReactor::try_send(Connection& c) {
  c.msg_ = msghdr{};
  c.msg_.msg_iov = c.iov_.data();
  c.msg_.msg_iovlen = c.iov_.size();
  ssize_t n = ::sendmsg(c.fd_, &c.msg_, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0 && errno == EAGAIN) {
    update_mask(c);  // wait for EPOLLOUT; the send stays "in flight"
    return;
  }
  send_finished(c, n < 0 ? -errno : n);
  if (!c.released_ && !c.send_inflight_) update_mask(c);
}

void EpollReactor::start_close(Connection& c) {
  if (c.released_) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd_, nullptr);
  ::close(c.fd_);
  c.inflight_ = 0;
  release(c);
}

void EpollReactor::on_readable(Connection& c) {
  for (int i = 0; i < kReadsPerTurn && c.read_armed_ && !c.released_; ++i) {
    BufferRef buf = pool_.acquire();
    if (!buf) return;  // out of buffers: level-triggered, we come back
    ssize_t n = ::recv(c.fd_, buf->data(), buf->capacity(), MSG_DONTWAIT);
    if (n > 0) {
      deliver_data(c, Slice{std::move(buf), 0, static_cast<uint32_t>(n)});
      if (static_cast<size_t>(n) < pool_.buffer_size()) return;  // drained
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    c.read_armed_ = false;
    update_mask(c);
    deliver_peer_closed(c, n == 0 ? 0 : errno);
    return;
  }
}

void EpollReactor::accept_all(Source& s) {
  for (;;) {
    int fd = ::accept4(s.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or an error such as EMFILE: try on the next event
    s.on_accept(fd);
  }
}

void EpollReactor::wait_and_dispatch(int timeout_ms) {
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
  for (int i = 0; i < n; ++i) {
    auto bits = reinterpret_cast<uintptr_t>(events[i].data.ptr);
    if (bits & kSourceTag) {
      auto* s = reinterpret_cast<Source*>(bits & ~kSourceTag);
      if (s->fd < 0) continue;
      if (s->listener) {
        accept_all(*s);
      } else {
        s->on_ready();
      }
      continue;
    }
    auto* c = reinterpret_cast<Connection*>(events[i].data.ptr);
    if (c->released_) continue;
    uint32_t ev = events[i].events;
    if (c->connecting_) {
      if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) connect_finished(*c, socket_error(c->fd_));
      if (!c->released_ && !c->connecting_ && !c->closing_) update_mask(*c);
      continue;
    }
    if ((ev & EPOLLOUT) && c->send_inflight_) try_send(*c);
    if (c->released_) continue;
    if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && c->read_armed_) {
      on_readable(*c);
    } else if ((ev & (EPOLLHUP | EPOLLERR)) && !c->read_armed_) {
      // Reported whatever the mask says: stop watching, or it would spin.
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd_, nullptr);
      deliver_peer_closed(*c, (ev & EPOLLERR) ? EIO : 0);
    }
  }
}

}  // namespace listgate::io

// reactor.cc - what both backends share: output queues, the dirty list that
// batches a loop turn's writes into one send per connection, timers, and the
// loop itself.
#include "listgate/io/reactor.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "epoll_reactor.h"
#include "uring_reactor.h"

namespace listgate::io {

namespace {
// iovecs per send; a reply batch or a header block plus body slices fit.
constexpr size_t kMaxIovPerSend = 64;
// How long run() keeps going after stop() for closing connections' last bytes.
constexpr std::chrono::milliseconds kFinalFlushLimit{2000};
constexpr std::chrono::milliseconds kFinalFlushTurn{10};
}  // namespace

// ---- Connection -------------------------------------------------------------

void Connection::write(std::string_view bytes) {
  if (bytes.empty() || closing_) return;
  if (!out_.empty() && out_.size() > sealed_ && !out_.back().is_slice) {
    out_.back().bytes.append(bytes);
  } else {
    out_.push_back(Segment{std::string(bytes), Slice{}, false});
  }
  pending_bytes_ += bytes.size();
  mark_dirty();
}

void Connection::write_owned(std::string&& bytes) {
  if (bytes.empty() || closing_) return;
  const size_t n = bytes.size();
  if (!out_.empty() && out_.size() > sealed_ && !out_.back().is_slice) {
    out_.back().bytes.append(bytes);
  } else {
    out_.push_back(Segment{std::move(bytes), Slice{}, false});
  }
  pending_bytes_ += n;
  mark_dirty();
}

void Connection::write(Slice slice) {
  if (slice.empty() || closing_) return;
  pending_bytes_ += slice.length;
  out_.push_back(Segment{std::string(), std::move(slice), true});
  mark_dirty();
}

void Connection::mark_dirty() {
  if (!dirty_) {
    dirty_ = true;
    reactor_.dirty_.push_back(this);
  }
}

size_t Connection::gather(iovec* iov, size_t max, size_t* bytes) const {
  size_t n = 0;
  size_t total = 0;
  for (size_t i = 0; i < out_.size() && n < max; ++i) {
    const Segment& s = out_[i];
    size_t skip = i == 0 ? front_sent_ : 0;
    iov[n].iov_base = const_cast<char*>(s.data() + skip);
    iov[n].iov_len = s.size() - skip;
    total += iov[n].iov_len;
    ++n;
  }
  *bytes = total;
  return n;
}

void Connection::consume(size_t n) {
  pending_bytes_ -= n;
  while (n > 0 && !out_.empty()) {
    size_t left = out_.front().size() - front_sent_;
    if (n < left) {
      front_sent_ += n;
      return;
    }
    n -= left;
    front_sent_ = 0;
    out_.pop_front();
  }
}

void Connection::pause_reading() {
  if (paused_ || closing_) return;
  paused_ = true;
  reactor_.disarm_read(*this);
}

void Connection::resume_reading() {
  if (!paused_ || closing_) return;
  paused_ = false;
  if (!held_.empty()) reactor_.resumed_.push_back(this);
  if (!peer_closed_) reactor_.arm_read(*this);
}

void Connection::close() { reactor_.request_close(*this); }

// ---- Reactor ----------------------------------------------------------------

Reactor::Reactor() : now_(Clock::now()) {}

Reactor::~Reactor() {
  for (Connection* c : graveyard_) delete c;
  // Connections nobody closed: the owner is gone too, so just free them.
  for (Connection* c : live_) {
    ::close(c->fd_);
    delete c;
  }
}

Result<std::unique_ptr<Reactor>> Reactor::create(IoMode mode, std::string* why_not) {
  if (mode != IoMode::epoll) {
    std::string reason = uring_unavailable_reason();
    if (reason.empty()) {
      auto uring = UringReactor::create();
      if (uring.ok()) return std::unique_ptr<Reactor>(std::move(uring.value()));
      reason = uring.error().message;
    }
    if (mode == IoMode::uring) return make_error("io_uring is not usable: " + reason);
    if (why_not) *why_not = reason;
  }
  auto epoll = EpollReactor::create();
  if (!epoll.ok()) return epoll.error();
  return std::unique_ptr<Reactor>(std::move(epoll.value()));
}

Connection* Reactor::attach(int fd, StreamHandler* handler) {
  // Replies go out as soon as a loop turn ends; Nagle would hold the second
  // batch of a pipelined group until the peer's ACK. (Fails harmlessly on
  // Unix sockets.)
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto* c = new Connection(*this, fd, handler);
  live_.insert(c);
  arm_read(*c);
  return c;
}

Connection* Reactor::connect(int fd, StreamHandler* handler) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto* c = new Connection(*this, fd, handler);
  c->connecting_ = true;
  live_.insert(c);
  start_connect(*c);
  return c;
}

void Reactor::connect_finished(Connection& c, int err) {
  if (!c.connecting_ || c.closing_ || c.released_) return;
  c.connecting_ = false;
  if (err != 0) {
    c.peer_closed_ = true;  // nothing will ever arrive
    c.out_.clear();
    c.front_sent_ = 0;
    c.pending_bytes_ = 0;
    c.handler_->on_connected(c, err);
    return;
  }
  arm_read(c);
  if (c.pending_bytes_ > 0) c.mark_dirty();
  c.handler_->on_connected(c, 0);
}

void Reactor::request_close(Connection& c) {
  if (c.closing_) return;
  c.closing_ = true;
  if (c.connecting_) {  // abandoned: what was queued for it goes nowhere
    c.out_.clear();
    c.front_sent_ = 0;
    c.pending_bytes_ = 0;
  }
  ++closing_connections_;
  if (!c.paused_ && !c.peer_closed_) disarm_read(c);
  if ((c.pending_bytes_ == 0 || c.connecting_) && !c.send_inflight_) {
    start_close(c);
  } else {
    c.mark_dirty();
  }
}

void Reactor::flush_dirty() {
  // Handlers may write while we flush (on_drained); swap so we see a stable list.
  std::vector<Connection*> list;
  list.swap(dirty_);
  for (Connection* c : list) {
    c->dirty_ = false;
    if (c->released_ || c->send_inflight_ || c->connecting_) continue;
    if (c->pending_bytes_ > 0) {
      // Gathered on the stack and copied: growing iov_ to the maximum and
      // back zeroed all kMaxIovPerSend entries on every send.
      iovec gathered[kMaxIovPerSend];
      size_t bytes = 0;
      size_t n = c->gather(gathered, kMaxIovPerSend, &bytes);
      c->iov_.assign(gathered, gathered + n);
      c->sealed_ = n;
      c->send_inflight_ = true;
      ++stats_.sends;
      start_send(*c);
    } else if (c->closing_) {
      start_close(*c);
    }
  }
  if (dirty_.empty()) {  // keep the capacity for the next turn
    list.clear();
    dirty_.swap(list);
  }
}

void Reactor::send_finished(Connection& c, long result) {
  c.send_inflight_ = false;
  c.sealed_ = 0;
  if (result < 0) {
    if (result == -EAGAIN || result == -EINTR) {
      c.mark_dirty();
      return;
    }
    // The peer is gone: drop what was queued.
    c.out_.clear();
    c.front_sent_ = 0;
    c.pending_bytes_ = 0;
    if (c.closing_) {
      start_close(c);
    } else {
      deliver_peer_closed(c, static_cast<int>(-result));
    }
    return;
  }
  stats_.bytes_out += static_cast<uint64_t>(result);
  c.consume(static_cast<size_t>(result));
  if (c.pending_bytes_ > 0) {
    c.mark_dirty();
  } else if (c.closing_) {
    start_close(c);
  } else {
    c.handler_->on_drained(c);
  }
}

void Reactor::deliver_data(Connection& c, Slice data) {
  if (c.closing_) return;
  stats_.bytes_in += data.length;
  if (c.paused_ || !c.held_.empty()) {  // keep order behind what is held
    c.held_.push_back(std::move(data));
    return;
  }
  c.handler_->on_data(c, std::move(data));
}

void Reactor::deliver_held() {
  std::vector<Connection*> list;
  list.swap(resumed_);
  for (Connection* c : list) {
    while (!c->held_.empty() && !c->paused_ && !c->closing_ && !c->released_) {
      Slice s = std::move(c->held_.front());
      c->held_.erase(c->held_.begin());
      c->handler_->on_data(*c, std::move(s));
    }
    if (c->closing_ || c->released_) c->held_.clear();
  }
}

void Reactor::deliver_peer_closed(Connection& c, int err) {
  if (c.peer_closed_) return;
  c.peer_closed_ = true;
  if (!c.closing_) c.handler_->on_peer_closed(c, err);
}

void Reactor::release(Connection& c) {
  if (c.released_) return;
  c.released_ = true;
  c.out_.clear();
  c.held_.clear();
  live_.erase(&c);
  if (c.closing_) --closing_connections_;
  graveyard_.push_back(&c);
}

TimerId Reactor::add_timer(std::chrono::milliseconds after, std::function<void()> fn) {
  TimerId id = next_timer_id_++;
  timer_heap_.push_back(Timer{Clock::now() + after, id});
  std::push_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>());
  timer_fns_.emplace(id, std::move(fn));
  return id;
}

void Reactor::cancel_timer(TimerId id) { timer_fns_.erase(id); }

int Reactor::next_timeout_ms() {
  // Cancelled timers stay in the heap until they surface; skip them here.
  while (!timer_heap_.empty() && !timer_fns_.count(timer_heap_.front().id)) {
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>());
    timer_heap_.pop_back();
  }
  if (timer_heap_.empty()) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(timer_heap_.front().at - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

void Reactor::run_due_timers() {
  while (!timer_heap_.empty() && timer_heap_.front().at <= now_) {
    TimerId id = timer_heap_.front().id;
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>());
    timer_heap_.pop_back();
    auto it = timer_fns_.find(id);
    if (it == timer_fns_.end()) continue;
    std::function<void()> fn = std::move(it->second);
    timer_fns_.erase(it);
    fn();
  }
}

void Reactor::run() {
  stopping_ = false;
  while (!stopping_) {
    flush_dirty();
    for (Connection* c : graveyard_) delete c;
    graveyard_.clear();
    wait_and_dispatch(next_timeout_ms());
    now_ = Clock::now();
    run_due_timers();
    if (!resumed_.empty()) deliver_held();
    ++stats_.loop_turns;
  }
  // Connections closed on the way out still have replies to send (a 421,
  // the last 250s): let those go before returning, for a bounded time.
  auto deadline = Clock::now() + kFinalFlushLimit;
  flush_dirty();
  while (closing_connections_ > 0 && Clock::now() < deadline) {
    wait_and_dispatch(static_cast<int>(kFinalFlushTurn.count()));
    flush_dirty();
  }
}

}  // namespace listgate::io

// reactor.h - the single-threaded event loop, with io_uring and epoll backends.
//
// The reactor owns sockets and buffers and knows nothing about mail. Owners
// attach a StreamHandler to a connected socket; received bytes arrive as
// Slices of pooled buffers, and whatever handlers write during one loop turn
// is flushed with one send per connection at the end of that turn (the
// Redis way: replies batched, not one syscall per reply).
//
// Backends implement the small virtual interface at the bottom; the shared
// parts (connections' output queues, timers, the dirty list) live in
// reactor.cc.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "listgate/base/result.h"
#include "listgate/io/buffer.h"

namespace listgate::io {

class Reactor;
class Connection;

enum class IoMode : uint8_t { automatic, uring, epoll };

class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // Bytes arrived. Keep the slice (it holds the buffer) as long as needed.
  virtual void on_data(Connection& c, Slice data) = 0;
  // The peer closed (err == 0) or the socket failed (err = errno). The owner
  // should close() the connection; no further data arrives.
  virtual void on_peer_closed(Connection& c, int err) = 0;
  // Every byte written so far has been handed to the kernel.
  virtual void on_drained(Connection&) {}
  // An outbound connection (Reactor::connect) is up (err == 0) or failed
  // (err = errno). After a failure the owner should close() the connection.
  virtual void on_connected(Connection&, int /*err*/) {}
};

// One connected socket. Created by Reactor::attach, destroyed by the reactor
// some time after close(); after close() the handler is never called again
// and the owner must not touch the connection.
class Connection {
 public:
  int fd() const { return fd_; }
  // Queues bytes (copied: replies and generated headers).
  void write(std::string_view bytes);
  // Queues a string the caller gives up (a large command group): taken
  // over, not copied, unless it joins bytes queued before it. Only for an
  // rvalue std::string; anything else takes the copying write above.
  template <class S>
    requires std::same_as<S, std::string>
  void write(S&& bytes) {
    write_owned(std::move(bytes));
  }
  // Queues a slice by reference (a received body goes out from its buffer).
  void write(Slice slice);
  // Bytes queued and not yet confirmed sent.
  size_t pending_output() const { return pending_bytes_; }
  // Stops delivering on_data until resume_reading() (backpressure). Bytes
  // the kernel already handed over are held and delivered after resuming.
  void pause_reading();
  void resume_reading();
  bool reading_paused() const { return paused_; }
  // Flushes what is queued, then closes the socket.
  void close();
  bool closing() const { return closing_; }
  // Reactor::connect has not reported yet.
  bool connecting() const { return connecting_; }

  void* user = nullptr;  // the owner's per-connection pointer

 private:
  friend class Reactor;
  friend class UringReactor;
  friend class EpollReactor;

  struct Segment {
    std::string bytes;  // owned bytes, or
    Slice slice;        // a referenced slice (when bytes is empty)
    bool is_slice = false;
    size_t size() const { return is_slice ? slice.length : bytes.size(); }
    const char* data() const { return is_slice ? slice.data() : bytes.data(); }
  };

  Connection(Reactor& r, int fd, StreamHandler* h) : reactor_(r), fd_(fd), handler_(h) {}
  void write_owned(std::string&& bytes);
  // Fills iov with what may be sent now (at most max entries); returns count.
  size_t gather(iovec* iov, size_t max, size_t* bytes) const;
  // Drops `n` sent bytes from the front of the queue.
  void consume(size_t n);
  void mark_dirty();

  Reactor& reactor_;
  int fd_;
  StreamHandler* handler_;
  std::deque<Segment> out_;
  std::vector<Slice> held_;    // received while paused
  size_t front_sent_ = 0;      // bytes of out_.front() already sent
  size_t sealed_ = 0;          // segments of out_ inside a send in flight
  size_t pending_bytes_ = 0;
  uint32_t inflight_ = 0;      // backend operations not yet completed
  bool send_inflight_ = false;
  bool dirty_ = false;
  bool paused_ = false;
  bool closing_ = false;
  bool read_armed_ = false;    // backend bookkeeping
  bool peer_closed_ = false;
  bool released_ = false;
  bool connecting_ = false;    // outbound, waiting for the connect to finish
  uint32_t epoll_events_ = 0;  // the epoll backend's registered mask
  // Backend scratch for the send in flight (io_uring needs it stable).
  std::vector<iovec> iov_;
  msghdr msg_{};
};

using TimerId = uint64_t;
using Clock = std::chrono::steady_clock;

class Reactor {
 public:
  // Creates the backend `mode` asks for. With IoMode::automatic, io_uring is
  // probed first; if it cannot be used, epoll is returned and *why_not says
  // why io_uring was not taken.
  static Result<std::unique_ptr<Reactor>> create(IoMode mode, std::string* why_not);

  virtual ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  virtual const char* backend_name() const = 0;
  // Empty buffers lent to the kernel (the io_uring ring); 0 for epoll.
  virtual size_t idle_buffers() const { return 0; }

  // Accepts connections on a listening socket; each new fd (non-blocking,
  // close-on-exec) goes to on_accept, which attaches or closes it.
  virtual Result<void> listen(int listen_fd, std::function<void(int fd)> on_accept) = 0;
  // Stops accepting on all listeners (the fds are closed).
  virtual void stop_listening() = 0;
  // Starts receiving on a connected socket.
  Connection* attach(int fd, StreamHandler* handler);
  // Takes a non-blocking socket whose connect() is in progress (or done) and
  // reports the outcome through handler->on_connected; receiving starts on
  // success. Writes made before that are held until the connection is up.
  // close() while connecting abandons the attempt (the connect timeout).
  Connection* connect(int fd, StreamHandler* handler);
  // Calls on_ready whenever fd is readable (signalfd, eventfd).
  virtual Result<void> watch_readable(int fd, std::function<void()> on_ready) = 0;

  TimerId add_timer(std::chrono::milliseconds after, std::function<void()> fn);
  void cancel_timer(TimerId id);
  Clock::time_point now() const { return now_; }

  // Runs until stop() is called, then lets closing connections send their
  // last bytes (bounded).
  void run();
  void stop() { stopping_ = true; }

  BufferPool& buffers() { return pool_; }
  // Pooled buffers holding received data (not those waiting empty in a ring).
  size_t buffers_holding_data() const { return pool_.in_use() - idle_buffers(); }
  size_t connection_count() const { return live_.size(); }

  struct Stats {
    uint64_t loop_turns = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    uint64_t sends = 0;
  };
  const Stats& stats() const { return stats_; }

 protected:
  Reactor();
  // Backend hooks.
  virtual void arm_read(Connection& c) = 0;
  virtual void disarm_read(Connection& c) = 0;
  virtual void start_send(Connection& c) = 0;
  virtual void start_close(Connection& c) = 0;
  // Waits for an outbound connect to finish, then calls connect_finished.
  virtual void start_connect(Connection& c) = 0;
  // Waits for events up to `timeout` (negative: no limit), then handles them.
  virtual void wait_and_dispatch(int timeout_ms) = 0;

  // Shared completion paths for the backends.
  void deliver_data(Connection& c, Slice data);
  void deliver_peer_closed(Connection& c, int err);
  void send_finished(Connection& c, long result);
  // The outbound connect ended: err from SO_ERROR (or the wait itself).
  void connect_finished(Connection& c, int err);
  // The backend has no operation left on c: free it.
  void release(Connection& c);

  BufferPool pool_;
  Stats stats_;

 private:
  friend class Connection;
  struct Timer {
    Clock::time_point at;
    TimerId id;
    bool operator>(const Timer& o) const { return at > o.at; }
  };
  void flush_dirty();
  int next_timeout_ms();
  void run_due_timers();
  void request_close(Connection& c);
  void deliver_held();

  std::vector<Connection*> dirty_;
  std::vector<Connection*> resumed_;  // paused connections with held data to deliver
  std::vector<Timer> timer_heap_;
  std::unordered_map<TimerId, std::function<void()>> timer_fns_;
  std::vector<Connection*> graveyard_;
  TimerId next_timer_id_ = 1;
  Clock::time_point now_;
  std::unordered_set<Connection*> live_;  // attached, not yet released
  size_t closing_connections_ = 0;  // close() called, not yet released
  bool stopping_ = false;
};

// Probes io_uring with the features the uring backend needs; empty when usable.
std::string uring_unavailable_reason();

}  // namespace listgate::io

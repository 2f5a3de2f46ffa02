// upstream_pool.cc - persistent connections to one upstream (see upstream_pool.h).
#include "listgate/delivery/upstream_pool.h"

#include <algorithm>
#include <cstring>

#include "listgate/base/concat.h"

namespace listgate::delivery {

using namespace std::chrono_literals;

// One connection: the socket, its SmtpClient machine, and the jobs it carries.
// Each job's id is swapped for a token of the link while it is in flight:
// results may come back out of order (a job answered at once overtakes the
// ones in flight) and owners' ids need not be unique.
class UpstreamPool::Link final : public io::StreamHandler {
 public:
  Link(UpstreamPool& pool, ClientCounters& counters)
      : pool_(pool), client_(pool.config_.client, counters), started_(pool.reactor_.now()),
        last_activity_(started_) {}

  void attach(io::Connection* conn) { conn_ = conn; }

  void give(Job job, Done done) {
    if (in_flight_.empty()) last_activity_ = pool_.reactor_.now();
    given_in_turn_ = pool_.reactor_.stats().loop_turns;
    const uint64_t token = ++next_token_;
    const uint64_t id = std::exchange(job.id, token);
    const size_t recipients = job.recipients.size();
    in_flight_.push_back(InFlight{token, id, pool_.reactor_.now(), std::move(done)});
    auto ok = client_.submit(std::move(job));
    if (!ok.ok()) {  // not expected: the pool gives jobs only to links that can_submit()
      JobResult refused{token, ReplyList(recipients, Reply{kSyntheticTempCode, std::string(kSyntheticTempStatus),
                                                            ok.error().message}),
                        true};
      deliver(std::move(refused));
      return;
    }
    pump();
  }

  bool can_take_job() const { return !gone_ && client_.can_submit(); }
  bool has_job() const { return !in_flight_.empty(); }
  size_t jobs() const { return in_flight_.size(); }
  // Given a job in this loop turn: its output is not flushed yet, so one
  // more job rides in the same write.
  bool given_this_turn() const { return !in_flight_.empty() && given_in_turn_ == pool_.reactor_.stats().loop_turns; }
  bool gone() const { return gone_; }
  bool handshake_done() const { return handshake_done_; }
  bool offers_xverp() const { return client_.extensions().xverp; }

  // Ends the connection now with `why` (timeouts).
  void abort(std::string why) {
    if (gone_) return;
    why_ = std::move(why);
    client_.connection_lost();
    pump();
  }

  // The pool is going away: no callbacks after this.
  void close_now() {
    if (gone_) return;
    gone_ = true;
    conn_->close();
  }

  void quit_if_idle() {
    if (!gone_ && in_flight_.empty()) {
      client_.quit();
      pump();
    }
  }

  // The pool's periodic check: connect, reply and idle timeouts.
  void check_timers(io::Clock::time_point now) {
    if (gone_) return;
    const PoolConfig& cfg = pool_.config_;
    if (!handshake_done_) {
      if (now - started_ > cfg.connect_timeout) abort("connect timed out");
    } else if (!in_flight_.empty()) {
      if (now - last_activity_ > cfg.reply_timeout) {
        ++pool_.counters_.timeouts;
        abort("upstream did not answer in time");
      }
    } else if (now - last_activity_ > cfg.idle_timeout) {
      quit_if_idle();
    }
  }

  void on_connected(io::Connection&, int err) override {
    if (err != 0) {
      why_ = concat({"connect to ", pool_.config_.peers[peer_].text, ": ", std::strerror(err)});
      client_.connection_lost();
    } else {
      client_.connected();
    }
    pump();
  }
  void on_data(io::Connection&, io::Slice data) override {
    last_activity_ = pool_.reactor_.now();
    client_.received(data.view());
    pump();
  }
  void on_peer_closed(io::Connection&, int) override {
    client_.connection_lost();
    pump();
  }

  size_t peer_ = 0;

 private:
  // Moves the machine's output to the socket, reports its state changes to
  // the pool and its results to the jobs' owners.
  void pump() {
    if (gone_) return;
    for (OutSegment& seg : client_.take_output()) {
      if (seg.is_slice) {
        conn_->write(std::move(seg.slice));
      } else {
        conn_->write(std::move(seg.bytes));  // taken over, not copied
      }
    }
    ClientState state = client_.state();
    if (!handshake_done_ && (state == ClientState::ready || state == ClientState::busy)) {
      handshake_done_ = true;
      pool_.link_ready(*this);
    }
    std::vector<JobResult> results = client_.take_results();
    if (client_.wants_close()) {
      gone_ = true;
      if (!handshake_done_) {
        Reply why = client_.failure();
        if (!why_.empty()) why.text = why_;
        pool_.link_failed_to_start(*this, why);
      }
      conn_->close();
      // Keep this object alive until our caller's stack is done with it.
      pool_.link_gone(*this);
    }
    for (JobResult& r : results) deliver(std::move(r));
    if (!gone_ && client_.can_submit()) pool_.dispatch();
  }

  // Hands a result to its job's owner, under the owner's id.
  void deliver(JobResult result) {
    auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                           [&](const InFlight& f) { return f.token == result.id; });
    if (it == in_flight_.end()) return;  // not reachable: every token is given once
    Done done = std::move(it->done);
    result.id = it->id;
    pool_.note_latency(pool_.reactor_.now() - it->given);
    in_flight_.erase(it);
    if (!in_flight_.empty()) last_activity_ = pool_.reactor_.now();  // a reply came for the rest
    done(std::move(result));
  }

  struct InFlight {
    uint64_t token;
    uint64_t id;
    io::Clock::time_point given;
    Done done;
  };

  UpstreamPool& pool_;
  SmtpClient client_;
  io::Connection* conn_ = nullptr;
  std::deque<InFlight> in_flight_;
  uint64_t next_token_ = 0;
  uint64_t given_in_turn_ = UINT64_MAX;
  io::Clock::time_point started_;
  io::Clock::time_point last_activity_;
  std::string why_;  // our own reason for a failure (timeouts, connect errors)
  bool handshake_done_ = false;
  bool gone_ = false;
};

UpstreamPool::UpstreamPool(io::Reactor& reactor, PoolConfig config, ClientCounters& client_counters)
    : reactor_(reactor), config_(std::move(config)), client_counters_(client_counters) {
  if (config_.size == 0) config_.size = 1;
}

UpstreamPool::~UpstreamPool() {
  *alive_ = false;
  if (sweep_timer_ != 0) reactor_.cancel_timer(sweep_timer_);
  // Out of links_ first: a link that ends inside quit_if_idle() removes itself from it.
  std::vector<std::unique_ptr<Link>> links = std::move(links_);
  links_.clear();
  for (auto& link : links) {
    link->quit_if_idle();
    link->close_now();
  }
}

void UpstreamPool::submit(Job job, Done done) {
  queue_.push_back(Waiting{std::move(job), std::move(done)});
  dispatch();
}

size_t UpstreamPool::jobs_in_progress() const {
  size_t n = 0;
  for (const auto& link : links_) n += link->jobs();
  return n;
}

bool UpstreamPool::down() const { return reactor_.now() < down_until_ || config_.peers.empty(); }

void UpstreamPool::quit_idle() {
  for (size_t i = 0; i < links_.size(); ++i) links_[i]->quit_if_idle();
}

void UpstreamPool::dispatch() {
  if (dispatching_) return;  // the outer call's loop sees what was queued meanwhile
  dispatching_ = true;
  while (!queue_.empty()) {
    // While the upstream answers fast, a link already given a job in this
    // turn comes first (the jobs share its write and its reply packet);
    // then an idle link, then a new one, then the link with the fewest jobs
    // in flight that takes one more (pipelined transactions). A slow
    // upstream gets its jobs spread: its connections work in parallel.
    const bool batch = latency_ < config_.batching_latency;
    Link* batching = nullptr;
    Link* idle = nullptr;
    Link* busy = nullptr;
    for (auto& link : links_) {
      if (!link->can_take_job()) continue;
      if (batch && link->given_this_turn()) {
        batching = link.get();
        break;
      }
      if (!link->has_job()) {
        if (idle == nullptr) idle = link.get();
      } else if (busy == nullptr || link->jobs() < busy->jobs()) {
        busy = link.get();
      }
    }
    if (batching == nullptr && idle == nullptr && links_.size() < config_.size && !down() && open_link()) continue;
    if (Link* to = batching != nullptr ? batching : idle != nullptr ? idle : busy; to != nullptr) {
      Waiting w = std::move(queue_.front());
      queue_.pop_front();
      to->give(std::move(w.job), std::move(w.done));
      continue;
    }
    if (links_.empty() && down()) {
      fail_queued(unreachable_reply(last_failure_));
      continue;  // what the callbacks queued (a batch's next transactions) fails at once too
    }
    break;
  }
  dispatching_ = false;
  // Jobs submitted from inside the callbacks above wait for the next sweep.
  if (!queue_.empty()) arm_sweep();
}

bool UpstreamPool::open_link() {
  if (config_.peers.empty()) return false;
  size_t peer = next_peer_ % config_.peers.size();
  auto fd = io::start_connect(config_.peers[peer]);
  if (!fd.ok()) {
    Reply why{kSyntheticTempCode, std::string(kUnreachableStatus), fd.error().message};
    ++counters_.connect_failures;
    next_peer_ = peer + 1;
    last_failure_ = why.text;
    backoff_ = backoff_.count() == 0 ? config_.backoff_initial : std::min(backoff_ * 2, config_.backoff_max);
    down_until_ = reactor_.now() + backoff_;
    return false;
  }
  auto link = std::make_unique<Link>(*this, client_counters_);
  link->peer_ = peer;
  link->attach(reactor_.connect(fd.value(), link.get()));
  links_.push_back(std::move(link));
  arm_sweep();
  return true;
}

void UpstreamPool::note_latency(io::Clock::duration sample) {
  // A moving average over about the last eight jobs.
  latency_ += (std::chrono::duration_cast<std::chrono::microseconds>(sample) - latency_) / 8;
}

void UpstreamPool::link_ready(Link& link) {
  ++counters_.connects;
  backoff_ = 0ms;
  down_until_ = {};
  last_failure_.clear();
  offers_xverp_ = link.offers_xverp();
}

void UpstreamPool::link_failed_to_start(Link& link, const Reply& why) {
  ++counters_.connect_failures;
  next_peer_ = link.peer_ + 1;
  last_failure_ = why.text.empty() ? why.line() : why.text;
  // Links opened together fail together, in one outage: only a failure
  // outside a down period lengthens the backoff. Else a pool of 16 links
  // refused at once would jump to backoff_max after a blip of a second.
  if (reactor_.now() < down_until_) return;
  backoff_ = backoff_.count() == 0 ? config_.backoff_initial : std::min(backoff_ * 2, config_.backoff_max);
  down_until_ = reactor_.now() + backoff_;
}

void UpstreamPool::link_gone(Link& link) {
  auto it = std::find_if(links_.begin(), links_.end(), [&](const auto& p) { return p.get() == &link; });
  if (it == links_.end()) return;
  graveyard_.push_back(std::move(*it));
  links_.erase(it);
  arm_sweep();
  // Work waiting for a connection gets a new one now (or fails fast while
  // the upstream is down), not at the next sweep.
  dispatch();
}

Reply UpstreamPool::unreachable_reply(std::string_view why) const {
  return Reply{kSyntheticTempCode, std::string(kUnreachableStatus),
               concat({config_.name, " unreachable", why.empty() ? "" : ": ", why})};
}

void UpstreamPool::fail_queued(const Reply& why) {
  std::deque<Waiting> failed;
  failed.swap(queue_);
  counters_.jobs_failed_fast += failed.size();
  for (Waiting& w : failed) {
    JobResult r;
    r.id = w.job.id;
    r.recipients.assign(w.job.recipients.size(), why);
    r.connection_failed = true;
    w.done(std::move(r));
  }
}

void UpstreamPool::arm_sweep() {
  if (sweep_timer_ != 0) return;
  auto every = std::min({config_.connect_timeout, config_.reply_timeout, config_.idle_timeout}) / 4;
  every = std::clamp<std::chrono::milliseconds>(every, 20ms, 1000ms);
  std::weak_ptr<bool> alive = alive_;
  sweep_timer_ = reactor_.add_timer(every, [this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    sweep_timer_ = 0;
    sweep();
  });
}

void UpstreamPool::sweep() {
  graveyard_.clear();
  io::Clock::time_point now = reactor_.now();
  for (size_t i = 0; i < links_.size(); ++i) {
    Link* link = links_[i].get();
    link->check_timers(now);
    if (i < links_.size() && links_[i].get() != link) --i;  // it left the list
  }
  // Jobs may wait for a down period to end.
  if (!queue_.empty()) dispatch();
  if (!links_.empty() || !graveyard_.empty() || !queue_.empty()) arm_sweep();
}

}  // namespace listgate::delivery

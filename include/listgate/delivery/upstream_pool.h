// upstream_pool.h - persistent SMTP/LMTP connections to one upstream, on the reactor.
//
// At most `size` connections to one target (the outbound MTA, or a list's
// backend), each driven by an SmtpClient machine. Jobs wait in one FIFO
// queue and go to an idle connection; without one, a new connection is
// opened while there is room in the pool, and when the pool is full a job
// is pipelined behind the fewest others on a connection that takes more
// (BDAT upstreams, see smtp_client.h), else it waits. While jobs come back
// within PoolConfig::batching_latency on average, the jobs given out in one
// reactor turn go to one connection instead (up to its pipeline depth): one
// write, one packet of replies, for an upstream that is fast anyway; a
// slower one keeps its connections working in parallel. Connections
// are reused across jobs (the machine sends RSET when needed), retired after
// ClientConfig::max_transactions, closed after idle_timeout without work,
// and replaced when they break.
//
// A dead upstream must not stall anything: connects have a short timeout,
// and after a connection could not be set up (refused, timed out, greeting
// or EHLO refused) the pool is "down" for a backoff period (doubling from
// backoff_initial to backoff_max). While it is down and has no working
// connection, jobs fail at once with a synthetic 451 4.4.1 instead of
// waiting; the first job after the period probes again. A job's result
// arrives through its callback exactly once, possibly from inside submit().
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "listgate/delivery/smtp_client.h"
#include "listgate/io/reactor.h"
#include "listgate/io/socket.h"

namespace listgate::delivery {

struct PoolConfig {
  std::string name;                    // for logs and replies: "smtp:[127.0.0.1]:25"
  std::vector<io::PeerAddress> peers;  // tried in turn after failures
  ClientConfig client;
  uint32_t size = 16;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds reply_timeout{300000};  // no byte from a busy upstream for this long
  std::chrono::milliseconds idle_timeout{60000};    // an unused connection is closed after it
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{60000};
  // Batching a turn's jobs on one connection stops while the upstream takes
  // longer than this, on average, from a job given to its result.
  std::chrono::microseconds batching_latency{1000};
};

struct PoolCounters {
  uint64_t connects = 0;             // connections set up (handshake done)
  uint64_t connect_failures = 0;     // refused, timed out, greeting/EHLO refused
  uint64_t timeouts = 0;             // reply timeouts on busy connections
  uint64_t jobs_failed_fast = 0;     // answered 451 4.4.1 while the upstream was down
};

// The status of results made up for an unreachable upstream.
inline constexpr std::string_view kUnreachableStatus = "4.4.1";

class UpstreamPool {
 public:
  using Done = std::function<void(JobResult)>;

  // `client_counters` is shared with other pools (metrics); it must outlive the pool.
  UpstreamPool(io::Reactor& reactor, PoolConfig config, ClientCounters& client_counters);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  void submit(Job job, Done done);
  // Whether the upstream offers XVERP, from the last completed handshake;
  // nullopt until one completed.
  std::optional<bool> offers_xverp() const { return offers_xverp_; }
  // Ends idle connections with QUIT and the others after their job; jobs
  // still queued keep being served.
  void quit_idle();

  const PoolConfig& config() const { return config_; }
  const PoolCounters& counters() const { return counters_; }
  size_t connections() const { return links_.size(); }
  size_t queued() const { return queue_.size(); }
  size_t jobs_in_progress() const;
  bool down() const;

 private:
  class Link;
  struct Waiting {
    Job job;
    Done done;
  };
  friend class Link;

  void dispatch();
  void note_latency(io::Clock::duration sample);
  bool open_link();
  void link_ready(Link& link);
  void link_failed_to_start(Link& link, const Reply& why);
  void link_gone(Link& link);
  void fail_queued(const Reply& why);
  void sweep();
  void arm_sweep();
  Reply unreachable_reply(std::string_view why) const;

  io::Reactor& reactor_;
  PoolConfig config_;
  ClientCounters& client_counters_;
  PoolCounters counters_;
  std::deque<Waiting> queue_;
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<std::unique_ptr<Link>> graveyard_;  // closed links, freed on the next sweep
  size_t next_peer_ = 0;
  std::optional<bool> offers_xverp_;
  io::Clock::time_point down_until_{};
  std::chrono::milliseconds backoff_{0};
  std::chrono::microseconds latency_{0};  // moving average, give to result
  std::string last_failure_;
  io::TimerId sweep_timer_ = 0;
  bool dispatching_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace listgate::delivery

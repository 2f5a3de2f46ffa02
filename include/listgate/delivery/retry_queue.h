// retry_queue.h - what the spool owes, retried on schedule; and the bounce log.
//
// New entries come from posts whose members could not all be reached now
// (defer()), old ones from the spool directory at start-up (load()). Each
// entry is retried at its next_attempt, for the recipients it still owes
// only: delivered ones leave the entry, 5xx ones go to the bounce log, the
// rest wait again, backed off from retry_initial doubling to retry_max, until
// delivery_retry_period after the first attempt; then they are recorded as
// bounces too and the entry is removed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/delivery/bounce_log.h"
#include "listgate/delivery/member_batch.h"
#include "listgate/delivery/spool.h"
#include "listgate/delivery/upstream_pool.h"
#include "listgate/io/reactor.h"

namespace listgate::delivery {

// Warnings for the log: (event, detail).
using WarnFn = std::function<void(std::string_view event, std::string_view detail)>;

struct RetryConfig {
  std::chrono::seconds retry_initial{5};
  std::chrono::seconds retry_max{15 * 60};
  std::chrono::seconds delivery_retry_period{5 * 24 * 3600};
  uint32_t max_recipients = 500;
  bool use_xverp = false;
  uint32_t concurrency = 8;  // entries being retried at once
};

struct RetryCounters {
  uint64_t deferred = 0;         // recipients put into the spool
  uint64_t spool_failures = 0;   // entries that could not be written (451 4.3.0)
  uint64_t retries = 0;          // entry attempts made from the spool
  uint64_t retried_delivered = 0;
  uint64_t expired = 0;          // recipients given up after delivery_retry_period
  uint64_t bounces_recorded = 0;
  uint64_t bounce_log_failures = 0;
};

class RetryQueue {
 public:
  RetryQueue(io::Reactor& reactor, Spool& spool, BounceLog& bounce_log, UpstreamPool& pool,
             VerpFormatter verp, RetryConfig config, BatchCounters& batch_counters, WarnFn warn);
  ~RetryQueue();

  // Takes the entries found in the spool at start-up and schedules them.
  void load(std::vector<SpoolEntry> entries);
  // Spools what a post still owes (`entry` without id, created/attempts/
  // last_reply filled in); on success the recipients may be answered 250.
  Result<std::string> defer(SpoolEntry entry, std::string_view header_prefix, const io::SliceChain& body);
  // Appends one line to the bounce log; false (and a warning) when it failed.
  bool record_bounce(std::string_view list, std::string_view member, const Reply& reply,
                     std::string_view message_id);
  bool record_bounce(std::string_view list, std::string_view member, std::string_view status,
                     std::string_view diagnostic, std::string_view message_id);

  size_t entries() const { return entries_.size(); }
  size_t recipients_owed() const;
  const RetryCounters& counters() const { return counters_; }
  bool busy() const { return running_ > 0; }

 private:
  struct Entry {
    SpoolEntry spool;
    bool running = false;
  };
  void schedule();
  void run_due();
  void attempt(Entry& e);
  void attempt_done(const std::string& id, const BatchOutcomes& outcomes);
  std::chrono::seconds backoff(uint32_t attempts) const;
  int64_t unix_now() const;

  io::Reactor& reactor_;
  Spool& spool_;
  BounceLog& bounce_log_;
  UpstreamPool& pool_;
  VerpFormatter verp_;
  RetryConfig config_;
  BatchCounters& batch_counters_;
  WarnFn warn_;
  RetryCounters counters_;
  std::map<std::string, Entry> entries_;  // by id
  size_t running_ = 0;
  io::TimerId timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace listgate::delivery

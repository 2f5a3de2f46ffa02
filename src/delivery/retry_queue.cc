// retry_queue.cc - spooled deliveries retried on schedule (see retry_queue.h).
#include "listgate/delivery/retry_queue.h"

#include <algorithm>
#include <ctime>

#include "listgate/base/concat.h"

namespace listgate::delivery {

using namespace std::chrono_literals;

RetryQueue::RetryQueue(io::Reactor& reactor, Spool& spool, BounceLog& bounce_log, UpstreamPool& pool,
                       VerpFormatter verp, RetryConfig config, BatchCounters& batch_counters, WarnFn warn)
    : reactor_(reactor), spool_(spool), bounce_log_(bounce_log), pool_(pool), verp_(std::move(verp)),
      config_(config), batch_counters_(batch_counters), warn_(std::move(warn)) {}

RetryQueue::~RetryQueue() {
  *alive_ = false;
  if (timer_ != 0) reactor_.cancel_timer(timer_);
}

int64_t RetryQueue::unix_now() const { return static_cast<int64_t>(std::time(nullptr)); }

size_t RetryQueue::recipients_owed() const {
  size_t n = 0;
  for (const auto& [id, e] : entries_) n += e.spool.recipients.size();
  return n;
}

std::chrono::seconds RetryQueue::backoff(uint32_t attempts) const {
  // attempts >= 1: retry_initial after the first, doubling up to retry_max.
  std::chrono::seconds wait = config_.retry_initial;
  for (uint32_t i = 1; i < attempts && wait < config_.retry_max; ++i) wait *= 2;
  return std::min(wait, config_.retry_max);
}

void RetryQueue::load(std::vector<SpoolEntry> entries) {
  for (SpoolEntry& s : entries) {
    std::string id = s.id;
    entries_[id] = Entry{std::move(s), false};
  }
  schedule();
}

Result<std::string> RetryQueue::defer(SpoolEntry entry, std::string_view header_prefix,
                                      const io::SliceChain& body) {
  entry.next_attempt = unix_now() + backoff(std::max<uint32_t>(entry.attempts, 1)).count();
  auto added = spool_.add(entry, header_prefix, body);
  if (!added.ok()) {
    ++counters_.spool_failures;
    warn_("spool_write_failed", added.error().message);
    return added.error();
  }
  counters_.deferred += entry.recipients.size();
  std::string id = entry.id;
  entries_[id] = Entry{std::move(entry), false};
  schedule();
  return id;
}

bool RetryQueue::record_bounce(std::string_view list, std::string_view member, const Reply& reply,
                               std::string_view message_id) {
  return record_bounce(list, member, reply.enhanced, reply.line(), message_id);
}

bool RetryQueue::record_bounce(std::string_view list, std::string_view member, std::string_view status,
                               std::string_view diagnostic, std::string_view message_id) {
  BounceRecord record{std::chrono::system_clock::now(), list, member, status, diagnostic, message_id};
  auto ok = bounce_log_.record(record);
  if (!ok.ok()) {
    ++counters_.bounce_log_failures;
    warn_("bounce_log_failed", ok.error().message);
    return false;
  }
  ++counters_.bounces_recorded;
  return true;
}

void RetryQueue::schedule() {
  if (timer_ != 0) {
    reactor_.cancel_timer(timer_);
    timer_ = 0;
  }
  int64_t next = INT64_MAX;
  for (const auto& [id, e] : entries_)
    if (!e.running) next = std::min(next, e.spool.next_attempt);
  if (next == INT64_MAX) return;
  int64_t wait = std::max<int64_t>(0, next - unix_now());
  std::weak_ptr<bool> alive = alive_;
  timer_ = reactor_.add_timer(std::chrono::milliseconds(wait * 1000), [this, alive] {
    if (alive.expired()) return;
    timer_ = 0;
    run_due();
  });
}

void RetryQueue::run_due() {
  int64_t now = unix_now();
  // An attempt can finish inside attempt() (a pool that is down fails jobs at
  // once) and erase its entry, so the due ids are taken first. At most
  // `concurrency` attempts start per call, finished or not: a long backlog
  // during an outage must not hold the reactor (the timer brings the rest).
  std::vector<std::string> due;
  for (const auto& [id, e] : entries_) {
    if (running_ + due.size() >= config_.concurrency) break;
    if (!e.running && e.spool.next_attempt <= now) due.push_back(id);
  }
  for (const std::string& id : due) {
    auto it = entries_.find(id);
    if (it != entries_.end() && !it->second.running) attempt(it->second);
  }
  // Entries still due wait for a running one to finish (attempt_done reschedules).
  if (running_ < config_.concurrency) schedule();
}

void RetryQueue::attempt(Entry& e) {
  auto bytes = spool_.read_message(e.spool);
  if (!bytes.ok()) {
    warn_("spool_read_failed", bytes.error().message);
    e.spool.attempts += 1;
    e.spool.next_attempt = unix_now() + backoff(e.spool.attempts).count();
    e.spool.last_reply = bytes.error().message;
    (void)spool_.update(e.spool);
    return;
  }
  e.running = true;
  ++running_;
  ++counters_.retries;
  std::string_view all = bytes.value();
  BatchMessage message;
  message.header_prefix = std::string(all.substr(0, e.spool.prefix_length));
  // The body goes back into pooled buffers so the SMTP client can send it by reference.
  message.body = std::make_shared<io::SliceChain>(io::copy_into_pool(reactor_.buffers(), all.substr(e.spool.prefix_length)));
  message.body_8bit = e.spool.body_8bit;
  message.smtputf8 = e.spool.smtputf8;
  message.bare_newlines = e.spool.bare_newlines;  // the spool keeps the body as received
  BatchEnvelope envelope{e.spool.sender, e.spool.verp, config_.use_xverp, &verp_};
  std::string id = e.spool.id;
  std::weak_ptr<bool> alive = alive_;
  send_batch(pool_, envelope, e.spool.recipients, std::move(message), config_.max_recipients, batch_counters_,
             [this, alive, id](BatchOutcomes outcomes) {
               if (alive.expired()) return;
               attempt_done(id, outcomes);
             });
}

void RetryQueue::attempt_done(const std::string& id, const BatchOutcomes& outcomes) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  e.running = false;
  --running_;
  SpoolEntry& s = e.spool;
  std::vector<std::string> still_owed;
  Reply last;
  for (size_t i = 0; i < outcomes.size() && i < s.recipients.size(); ++i) {
    switch (outcomes[i].outcome) {
      case Outcome::delivered:
        ++counters_.retried_delivered;
        break;
      case Outcome::refused:
        record_bounce(s.list, s.recipients[i], outcomes[i].reply, s.message_id);
        break;
      case Outcome::deferred:
        last = outcomes[i].reply;
        still_owed.push_back(std::move(s.recipients[i]));
        break;
    }
  }
  s.attempts += 1;
  int64_t now = unix_now();
  if (!still_owed.empty() && now - s.created >= config_.delivery_retry_period.count()) {
    std::string diagnostic = concat({"delivery_retry_period expired; last reply: ", last.line()});
    for (const std::string& member : still_owed) {
      record_bounce(s.list, member, last.enhanced, diagnostic, s.message_id);
    }
    counters_.expired += still_owed.size();
    warn_("spool_expired", concat({s.id, " ", s.list, " ", std::to_string(still_owed.size()), " recipients"}));
    still_owed.clear();
  }
  if (still_owed.empty()) {
    auto removed = spool_.remove(s.id);
    if (!removed.ok()) warn_("spool_remove_failed", removed.error().message);
    entries_.erase(it);
  } else {
    s.recipients = std::move(still_owed);
    s.last_reply = last.line();
    s.next_attempt = now + backoff(s.attempts).count();
    auto updated = spool_.update(s);
    if (!updated.ok()) warn_("spool_update_failed", updated.error().message);
  }
  // Not run_due(): this may run inside attempt(), and a chain of attempts
  // that finish at once would recurse without bound; the timer goes next turn.
  schedule();
}

}  // namespace listgate::delivery

// member_batch.cc - one message to many recipients (see member_batch.h).
#include "listgate/delivery/member_batch.h"

#include <algorithm>

namespace listgate::delivery {

namespace {

struct Batch : std::enable_shared_from_this<Batch> {
  UpstreamPool* pool = nullptr;
  BatchCounters* counters = nullptr;
  BatchMessage message;
  std::vector<std::string_view> recipients;
  std::shared_ptr<const void> keep;  // owns what `recipients` views
  BatchOutcomes outcomes;
  size_t open_jobs = 0;
  BatchDone done;

  // First tries go to the pool as earlier ones finish, at most `window` at
  // once (the pool's size): every connection stays busy, and a large post
  // does not build all its transactions (for VERP, one per member) before
  // the first one can go out.
  std::string sender;
  const VerpFormatter* verp_formatter = nullptr;  // set: one transaction per member
  bool xverp = false;
  size_t chunk = 1;          // recipients per transaction
  size_t next = 0;           // the first recipient without a first try yet
  size_t window = 1;
  size_t open_first_tries = 0;
  bool filling = false;

  void fill() {
    if (filling) return;  // a result that came back at once, inside submit(): the loop below goes on
    filling = true;
    while (open_first_tries < window && next < recipients.size()) {
      if (verp_formatter != nullptr) {
        const auto i = static_cast<uint32_t>(next++);
        submit(make_job(verp_sender(*verp_formatter, sender, recipients[i]), false), {i}, false);
      } else {
        const size_t last = std::min(recipients.size(), next + chunk);
        std::vector<uint32_t> indexes;
        indexes.reserve(last - next);
        for (; next < last; ++next) indexes.push_back(static_cast<uint32_t>(next));
        submit(make_job(sender, xverp), std::move(indexes), false);
      }
    }
    filling = false;
  }

  // Calls `done` once every recipient has its outcome.
  void finish_if_done() {
    if (open_jobs != 0 || next < recipients.size() || !done) return;
    BatchDone d = std::move(done);
    done = nullptr;
    d(std::move(outcomes));
  }

  Job make_job(std::string sender, bool xverp) const {
    Job job;
    job.sender = std::move(sender);
    job.header_prefix = message.header_prefix;
    job.body = message.body.get();
    job.body_8bit = message.body_8bit;
    job.smtputf8 = message.smtputf8;
    job.bare_newlines = message.bare_newlines;
    job.xverp = xverp;
    return job;
  }

  // Submits `job` for the recipients at `indexes`; `retry` marks the second try.
  void submit(Job job, std::vector<uint32_t> indexes, bool retry) {
    job.recipients.reserve(indexes.size());
    for (uint32_t i : indexes) job.recipients.push_back(recipients[i]);  // views: `keep` owns the bytes
    ++open_jobs;
    if (!retry) ++open_first_tries;
    ++counters->transactions;
    Job copy_for_retry;
    if (!retry) {  // keep the envelope, not the recipients, for a possible second try
      copy_for_retry.sender = job.sender;
      copy_for_retry.xverp = job.xverp;
    }
    pool->submit(std::move(job), [self = shared_from_this(), indexes = std::move(indexes), retry,
                                  envelope = std::move(copy_for_retry)](JobResult r) mutable {
      self->finished(std::move(r), indexes, retry, std::move(envelope));
    });
  }

  static Outcome outcome_of(const Reply& reply) {
    if (reply.positive()) return Outcome::delivered;
    if (reply.permanent()) return Outcome::refused;
    return Outcome::deferred;
  }

  void finished(JobResult r, const std::vector<uint32_t>& indexes, bool retry, Job envelope) {
    std::vector<uint32_t> again;
    // The job's stored replies (a few per transaction) join the batch's and
    // are judged once each; every recipient keeps a handle to its own: no
    // Reply copied, and nothing worked out again, per member.
    const ReplyList& replies = r.recipients;
    const std::vector<Reply>& stored = replies.stored();
    const uint32_t base = outcomes.add_replies(stored);
    // A recipient the result has no reply for (not expected) reads as this
    // one, stored after the others when first needed.
    const Reply missing{kSyntheticTempCode, std::string(kSyntheticTempStatus), "no reply"};
    const auto missing_handle = static_cast<uint32_t>(stored.size());
    bool missing_stored = false;
    std::vector<Outcome> judged(stored.size() + 1);
    std::vector<uint8_t> lost(stored.size() + 1);  // a connection failure answered it, not the upstream
    for (uint32_t h = 0; h <= missing_handle; ++h) {
      const Reply& reply = h < missing_handle ? stored[h] : missing;
      judged[h] = outcome_of(reply);
      lost[h] = r.connection_failed && reply.code == kSyntheticTempCode && reply.enhanced == kSyntheticTempStatus;
    }
    uint64_t counts[3] = {0, 0, 0};  // by Outcome
    for (size_t k = 0; k < indexes.size(); ++k) {
      const uint32_t h = k < replies.size() ? replies.handle(k) : missing_handle;
      if (lost[h] && !retry) {
        again.push_back(indexes[k]);
        continue;
      }
      if (h == missing_handle && !missing_stored) {
        outcomes.add_replies({missing});  // lands at base + missing_handle
        missing_stored = true;
      }
      ++counts[static_cast<size_t>(judged[h])];
      outcomes.set(indexes[k], judged[h], base + h);
    }
    counters->delivered += counts[static_cast<size_t>(Outcome::delivered)];
    counters->refused += counts[static_cast<size_t>(Outcome::refused)];
    counters->deferred += counts[static_cast<size_t>(Outcome::deferred)];
    if (!again.empty()) {
      ++counters->immediate_retries;
      envelope.header_prefix = message.header_prefix;
      envelope.body = message.body.get();
      envelope.body_8bit = message.body_8bit;
      envelope.smtputf8 = message.smtputf8;
      envelope.bare_newlines = message.bare_newlines;
      submit(std::move(envelope), std::move(again), true);
    }
    --open_jobs;
    if (!retry) --open_first_tries;
    fill();
    finish_if_done();
  }
};

}  // namespace

BatchOutcomes::BatchOutcomes(size_t n) : replies_(1), slots_(n) {
  counts_[static_cast<size_t>(Outcome::deferred)] = n;
}

uint32_t BatchOutcomes::add_replies(const std::vector<Reply>& replies) {
  const auto first = static_cast<uint32_t>(replies_.size());
  replies_.insert(replies_.end(), replies.begin(), replies.end());
  return first;
}

std::string verp_sender(const VerpFormatter& format, std::string_view bounces_address, std::string_view member) {
  size_t at = bounces_address.rfind('@');
  std::string_view bounces_local = bounces_address.substr(0, at);
  std::string_view bounces_domain = at == std::string_view::npos ? "" : bounces_address.substr(at + 1);
  size_t mat = member.rfind('@');
  std::string_view local = member.substr(0, mat);
  std::string_view domain = mat == std::string_view::npos ? "" : member.substr(mat + 1);
  std::string sender = format(bounces_local, local, domain);
  if (!bounces_domain.empty()) {
    sender += '@';
    sender += bounces_domain;
  }
  return sender;
}

void send_batch(UpstreamPool& pool, const BatchEnvelope& envelope, std::vector<std::string> recipients,
                BatchMessage message, uint32_t max_recipients, BatchCounters& counters, BatchDone done) {
  auto owned = std::make_shared<const std::vector<std::string>>(std::move(recipients));
  std::vector<std::string_view> views(owned->begin(), owned->end());
  send_batch(pool, envelope, std::move(views), std::move(owned), std::move(message), max_recipients, counters,
             std::move(done));
}

void send_batch(UpstreamPool& pool, const BatchEnvelope& envelope, std::vector<std::string_view> recipients,
                std::shared_ptr<const void> keep, BatchMessage message, uint32_t max_recipients,
                BatchCounters& counters, BatchDone done) {
  if (recipients.empty()) {
    done({});
    return;
  }
  auto batch = std::make_shared<Batch>();
  batch->pool = &pool;
  batch->counters = &counters;
  batch->message = std::move(message);
  batch->recipients = std::move(recipients);
  batch->keep = std::move(keep);
  batch->outcomes = BatchOutcomes(batch->recipients.size());
  batch->done = std::move(done);
  const size_t n = batch->recipients.size();
  batch->sender = envelope.sender;
  bool per_member = envelope.verp && !(envelope.xverp_allowed && pool.offers_xverp().value_or(false));
  if (per_member && envelope.verp_formatter != nullptr) {
    batch->verp_formatter = envelope.verp_formatter;
  } else {
    batch->xverp = envelope.verp;  // reached only when the upstream offers XVERP
    batch->chunk = max_recipients == 0 ? n : max_recipients;
  }
  batch->window = std::max<size_t>(1, pool.config().size);
  // Held open while submitting, so results that come back at once (a pool
  // that is down) cannot finish the batch before every job is out.
  ++batch->open_jobs;
  batch->fill();
  --batch->open_jobs;
  batch->finish_if_done();
}

}  // namespace listgate::delivery

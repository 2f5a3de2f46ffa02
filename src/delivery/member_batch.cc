// member_batch.cc - one message to many recipients (see member_batch.h).
#include "listgate/delivery/member_batch.h"

#include <algorithm>

namespace listgate::delivery {

namespace {

struct Batch : std::enable_shared_from_this<Batch> {
  UpstreamPool* pool = nullptr;
  BatchCounters* counters = nullptr;
  BatchMessage message;
  std::vector<std::string> recipients;
  std::vector<RecipientOutcome> outcomes;
  size_t open_jobs = 0;
  BatchDone done;

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
    for (uint32_t i : indexes) job.recipients.push_back(recipients[i]);
    ++open_jobs;
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

  void finished(JobResult r, const std::vector<uint32_t>& indexes, bool retry, Job envelope) {
    std::vector<uint32_t> again;
    for (size_t k = 0; k < indexes.size(); ++k) {
      Reply reply = k < r.recipients.size() ? std::move(r.recipients[k])
                                            : Reply{kSyntheticTempCode, std::string(kSyntheticTempStatus), "no reply"};
      bool lost = r.connection_failed && reply.code == kSyntheticTempCode && reply.enhanced == kSyntheticTempStatus;
      if (lost && !retry) {
        again.push_back(indexes[k]);
        continue;
      }
      RecipientOutcome& o = outcomes[indexes[k]];
      if (reply.positive()) {
        o.outcome = Outcome::delivered;
        ++counters->delivered;
      } else if (reply.permanent()) {
        o.outcome = Outcome::refused;
        ++counters->refused;
      } else {
        o.outcome = Outcome::deferred;
        ++counters->deferred;
      }
      o.reply = std::move(reply);
    }
    if (!again.empty()) {
      ++counters->immediate_retries;
      envelope.header_prefix = message.header_prefix;
      envelope.body = message.body.get();
      envelope.body_8bit = message.body_8bit;
      envelope.smtputf8 = message.smtputf8;
      envelope.bare_newlines = message.bare_newlines;
      submit(std::move(envelope), std::move(again), true);
    }
    if (--open_jobs == 0) {
      BatchDone d = std::move(done);
      d(std::move(outcomes));
    }
  }
};

}  // namespace

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
  if (recipients.empty()) {
    done({});
    return;
  }
  auto batch = std::make_shared<Batch>();
  batch->pool = &pool;
  batch->counters = &counters;
  batch->message = std::move(message);
  batch->recipients = std::move(recipients);
  batch->outcomes.resize(batch->recipients.size());
  batch->done = std::move(done);
  const size_t n = batch->recipients.size();
  // Held open while submitting, so results that come back at once (a pool
  // that is down) cannot finish the batch before every job is out.
  ++batch->open_jobs;

  bool per_member = envelope.verp && !(envelope.xverp_allowed && pool.offers_xverp().value_or(false));
  if (per_member && envelope.verp_formatter != nullptr) {
    for (uint32_t i = 0; i < n; ++i) {
      batch->submit(batch->make_job(verp_sender(*envelope.verp_formatter, envelope.sender, batch->recipients[i]),
                                    false),
                    {i}, false);
    }
  } else {
    bool xverp = envelope.verp;  // reached only when the upstream offers XVERP
    size_t chunk = max_recipients == 0 ? n : max_recipients;
    for (size_t first = 0; first < n; first += chunk) {
      std::vector<uint32_t> indexes;
      size_t last = std::min(n, first + chunk);
      indexes.reserve(last - first);
      for (size_t i = first; i < last; ++i) indexes.push_back(static_cast<uint32_t>(i));
      batch->submit(batch->make_job(envelope.sender, xverp), std::move(indexes), false);
    }
  }
  if (--batch->open_jobs == 0) {
    BatchDone d = std::move(batch->done);
    d(std::move(batch->outcomes));
  }
}

}  // namespace listgate::delivery

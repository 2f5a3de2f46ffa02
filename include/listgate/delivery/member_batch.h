// member_batch.h - one message to many recipients through an upstream pool.
//
// The recipients are cut into transactions of at most max_recipients RCPTs
// (or one per recipient for VERP, unless the upstream does it with XVERP),
// as many in the pool at once as it has connections, the next one as soon
// as one ends, so its connections work in parallel and a large list's first
// transactions go out before its last are even made. Every transaction
// carries the same header prefix and the same body slices (the body is
// never copied per transaction) and views its recipients in the caller's
// storage (no string per member). When every transaction has ended, the
// callback gets one outcome per recipient: delivered (2xx after the final
// dot), refused for good (5xx) or deferred (4xx, or the connection failed
// before the recipient was answered).
//
// A transaction whose connection broke before the recipients were answered
// (the pool's stale connection closed by the upstream, say) is tried once
// more at once, on whatever connection the pool has then, for the
// recipients not answered yet; the others keep their replies. This is the
// same as an early spool retry and sends nobody anything twice that the
// upstream had acknowledged.
#pragma once

#include <cstdint>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/index_iterator.h"
#include "listgate/delivery/smtp_reply.h"
#include "listgate/delivery/upstream_pool.h"
#include "listgate/io/buffer.h"

namespace listgate::delivery {

// Makes a VERP envelope sender for one member:
// (bounces local part, member local part, member domain) -> local part.
using VerpFormatter =
    std::function<std::string(std::string_view bounces_local, std::string_view local, std::string_view domain)>;

struct BatchEnvelope {
  std::string sender;          // reverse-path; for VERP the list's bounces address
  bool verp = false;           // one sender per member (VERP)
  bool xverp_allowed = false;  // with VERP: let an XVERP upstream do it per chunk
  const VerpFormatter* verp_formatter = nullptr;  // required when verp
};

struct BatchMessage {
  std::string header_prefix;                // generated lines, each ending in CRLF
  std::shared_ptr<const io::SliceChain> body;  // wire form, kept alive by the batch
  bool body_8bit = false;
  bool smtputf8 = false;
  bool bare_newlines = false;
};

enum class Outcome : uint8_t { delivered, refused, deferred };

// One recipient's outcome, as read from BatchOutcomes (valid while it lives).
struct RecipientOutcome {
  Outcome outcome;
  const Reply& reply;  // the upstream's reply (synthetic when made up)
};

// What became of each recipient of a batch, in the order they were given.
// Recipients answered alike share one stored Reply (see ReplyList): a
// 100,000-member post keeps one reply per transaction, not one per member.
class BatchOutcomes {
 public:
  using const_iterator = IndexIterator<BatchOutcomes>;

  BatchOutcomes() = default;
  // n recipients, deferred with an empty reply until set.
  explicit BatchOutcomes(size_t n);

  size_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }
  RecipientOutcome operator[](size_t i) const { return {slots_[i].outcome, replies_[slots_[i].reply]}; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, slots_.size()}; }

  // Recipients with this outcome (all of them delivered: nothing to look at).
  size_t count(Outcome outcome) const { return counts_[static_cast<size_t>(outcome)]; }

  // Stores replies; returns the handle of the first.
  uint32_t add_replies(const std::vector<Reply>& replies);
  void set(size_t i, Outcome outcome, uint32_t reply) {
    --counts_[static_cast<size_t>(slots_[i].outcome)];
    ++counts_[static_cast<size_t>(outcome)];
    slots_[i] = Slot{outcome, reply};
  }

 private:
  struct Slot {
    Outcome outcome = Outcome::deferred;
    uint32_t reply = 0;
  };
  std::vector<Reply> replies_;  // [0]: the empty reply
  std::vector<Slot> slots_;
  size_t counts_[3] = {0, 0, 0};  // by Outcome
};

struct BatchCounters {
  uint64_t transactions = 0;     // jobs submitted (retries included)
  uint64_t immediate_retries = 0;
  uint64_t delivered = 0;        // recipients
  uint64_t refused = 0;
  uint64_t deferred = 0;
};

using BatchDone = std::function<void(BatchOutcomes)>;

// Sends `message` to `recipients` (envelope forward-paths without brackets)
// and calls `done` once, possibly before returning (an empty list, a pool
// that is down). `max_recipients` 0 means all in one transaction.
void send_batch(UpstreamPool& pool, const BatchEnvelope& envelope, std::vector<std::string> recipients,
                BatchMessage message, uint32_t max_recipients, BatchCounters& counters, BatchDone done);

// The same for recipients the caller does not copy (a list's members, views
// into the list table): the batch holds `keep` until `done` has run, and
// `keep` must keep the viewed bytes alive.
void send_batch(UpstreamPool& pool, const BatchEnvelope& envelope, std::vector<std::string_view> recipients,
                std::shared_ptr<const void> keep, BatchMessage message, uint32_t max_recipients,
                BatchCounters& counters, BatchDone done);

// The VERP sender for `member` given the bounces address "local@domain".
std::string verp_sender(const VerpFormatter& format, std::string_view bounces_address, std::string_view member);

}  // namespace listgate::delivery

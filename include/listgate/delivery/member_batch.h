// member_batch.h - one message to many recipients through an upstream pool.
//
// The recipients are cut into transactions of at most max_recipients RCPTs
// (or one per recipient for VERP, unless the upstream does it with XVERP),
// all submitted to the pool at once so its connections work in parallel;
// every transaction carries the same header prefix and the same body slices,
// so the body is never copied per transaction. When every transaction has
// ended, the callback gets one outcome per recipient: delivered (2xx after
// the final dot), refused for good (5xx) or deferred (4xx, or the
// connection failed before the recipient was answered).
//
// A transaction whose connection broke before the recipients were answered
// (the pool's stale connection closed by the upstream, say) is tried once
// more at once, on whatever connection the pool has then, for the
// recipients not answered yet; the others keep their replies. This is the
// same as an early spool retry and sends nobody anything twice that the
// upstream had acknowledged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

struct RecipientOutcome {
  Outcome outcome = Outcome::deferred;
  Reply reply;  // the upstream's reply (synthetic when made up)
};

struct BatchCounters {
  uint64_t transactions = 0;     // jobs submitted (retries included)
  uint64_t immediate_retries = 0;
  uint64_t delivered = 0;        // recipients
  uint64_t refused = 0;
  uint64_t deferred = 0;
};

using BatchDone = std::function<void(std::vector<RecipientOutcome>)>;

// Sends `message` to `recipients` (envelope forward-paths without brackets)
// and calls `done` once, possibly before returning (an empty list, a pool
// that is down). `max_recipients` 0 means all in one transaction.
void send_batch(UpstreamPool& pool, const BatchEnvelope& envelope, std::vector<std::string> recipients,
                BatchMessage message, uint32_t max_recipients, BatchCounters& counters, BatchDone done);

// The VERP sender for `member` given the bounces address "local@domain".
std::string verp_sender(const VerpFormatter& format, std::string_view bounces_address, std::string_view member);

}  // namespace listgate::delivery

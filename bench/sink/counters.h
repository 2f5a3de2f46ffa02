// counters.h - what the sink counts, shared by all its sessions.
//
// Plain integers: the sink is one thread. The same key=value text serves the
// control interface's `stats` reply and the summary line printed at exit, so
// a test parses one format for both (see README.md, "Counters").
#pragma once

#include <cstdint>
#include <string>

namespace listgate::sink {

struct Counters {
  uint64_t connections = 0;          // SMTP connections accepted (421-refused ones too)
  uint64_t active = 0;               // SMTP connections open now (never reset)
  uint64_t refused_connections = 0;  // answered 421 because the sink was down
  uint64_t mails = 0;                // MAIL commands answered 250
  uint64_t rcpt_accepted = 0;        // RCPTs answered 250
  uint64_t rcpt_refused = 0;         // RCPTs refused by a fault or by --max-rcpt
  uint64_t transactions = 0;         // messages answered 250 after the final dot or LAST chunk
  uint64_t data_failed = 0;          // messages answered 4xx/5xx after the final dot or at a chunk
  uint64_t drops = 0;                // connections dropped in the middle of a body (DATA or BDAT)
  uint64_t body_bytes = 0;           // unstuffed body bytes of the accepted messages
  uint64_t data_bytes = 0;           // bytes received in DATA and BDAT chunks (wire form, all messages)
  uint64_t auth_ok = 0;
  uint64_t auth_failed = 0;
  uint64_t errors = 0;               // syntax, sequence and unknown-command replies
};

// Appends "connections=N active=N ... errors=N" (no newline).
void append_counters(std::string& out, const Counters& c);

// Zeroes everything except `active`, which describes the present.
void reset_counters(Counters& c);

}  // namespace listgate::sink

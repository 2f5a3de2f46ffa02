// load_counters.h - what a load run counts, shared by all its connections.
//
// "Wrong" replies contradict the plan (an address from the table refused,
// an unknown one accepted or refused with something else than 550, MAIL or
// DATA refused while recipients were accepted): the server or the table is
// not what the run assumed. "Errors" are broken conversations: failed
// connects, malformed or unexpected replies, connections lost, and
// connections still busy when the run gave up waiting for them.
#pragma once

#include <cstdint>

#include "listgate/io/reactor.h"

namespace listgate::loadbench {

struct LoadCounters {
  // Connections.
  uint64_t connections_opened = 0;   // greeted and LHLO answered
  uint64_t connect_failures = 0;     // connect() failed or the greeting was not 220
  // Messages.
  uint64_t messages_started = 0;     // envelopes (MAIL, RCPTs, DATA) sent
  uint64_t messages_sent = 0;        // bodies sent after a 354
  uint64_t messages_completed = 0;   // bodies whose every per-recipient reply came back
  uint64_t messages_all_2xx = 0;     // ... and every one of those replies was 2xx
  uint64_t messages_no_recipient = 0;  // every RCPT refused, so no DATA (not an error)
  uint64_t body_bytes = 0;           // message bytes sent (without the final ".\r\n")
  // Recipients (RCPT replies).
  uint64_t rcpt_sent = 0;
  uint64_t rcpt_accepted = 0;
  uint64_t rcpt_refused = 0;
  uint64_t unknown_refused = 0;      // planned unknown addresses answered 550, as they must be
  // Per-recipient replies after the final dot (LMTP: one per accepted RCPT).
  uint64_t data_replies_2xx = 0;
  uint64_t data_replies_4xx = 0;
  uint64_t data_replies_5xx = 0;
  // Wrong replies.
  uint64_t known_refused = 0;
  uint64_t unknown_accepted = 0;
  uint64_t unknown_not_550 = 0;
  uint64_t mail_refused = 0;
  uint64_t data_refused = 0;
  // Errors.
  uint64_t protocol_errors = 0;      // malformed reply, 421, 354 without a recipient, ...
  uint64_t connections_lost = 0;     // closed by the server before QUIT's reply
  uint64_t connections_given_up = 0; // still busy when the drain time ran out
  uint64_t unfinished = 0;           // transactions in flight on those (not counted twice in errors())

  io::Clock::time_point last_completion{};  // when messages_completed last grew

  uint64_t wrong_replies() const {
    return known_refused + unknown_accepted + unknown_not_550 + mail_refused + data_refused;
  }
  uint64_t errors() const { return connect_failures + protocol_errors + connections_lost + connections_given_up; }
};

}  // namespace listgate::loadbench

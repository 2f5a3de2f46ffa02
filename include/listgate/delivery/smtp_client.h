// smtp_client.h - one outbound SMTP or LMTP connection as a pure protocol machine.
//
// Events in: connected(), received(bytes) in any split, submit(job), quit(),
// connection_lost(). Actions out: take_output() (segments to write, the body
// by reference) and take_results() (finished jobs, one reply per recipient).
// No sockets, clocks or logging: the owner (the delivery pool) does I/O and
// timeouts, so the machine is tested byte by byte and in random splits.
//
// Built the way Postfix's smtp_proto.c is: the send state and the receive
// state are apart. Sending walks the job's commands ([RSET] MAIL, RCPT...,
// DATA); with PIPELINING it sends them all in one group (RFC 2920) and runs
// ahead of the replies, without it one command waits for one reply. The
// receive state is a queue of the replies still expected, each naming the
// command (and recipient) it answers; every reply is matched to the head of
// the queue, so replies that arrive together, split anywhere, or long after
// their command all land where they belong. A reply when none is expected,
// or one the parser rejects, is a protocol error: the connection is given up.
//
// Results: a recipient refused at RCPT gets that reply; an accepted one gets
// the reply to the final dot (SMTP: the one reply, LMTP: its own, RFC 2033
// 4.2); a refused MAIL or DATA answers every recipient still open. When the
// connection fails before a recipient was answered (lost, 421, protocol
// error, refused RSET), it gets a synthetic "451 4.4.2" (or the 421 itself),
// so the owner spools exactly those. A job is done only when its last reply
// is in. Results come out in the order the jobs were submitted, except that
// a job the server cannot take at all (see submit()) is answered at once.
//
// Transactions in flight: with CHUNKING and PIPELINING offered (SMTP), a job
// goes out whole in one write (RSET when behind another, MAIL, RCPTs,
// "BDAT <n> LAST" and the message), so the next job can follow at once,
// before the replies, up to ClientConfig::pipeline_depth jobs: several
// messages share one write and one packet of replies. Otherwise one job at
// a time; the pool uses several connections for parallelism.
//
// With DATA the body goes out only after 354 and only when at least one
// RCPT was accepted. With PIPELINING DATA was already sent; if every RCPT
// failed and the server still says 354 (against RFC 2920 3.1) an SMTP
// client closes the DATA phase with an empty message ".\r\n" and ignores
// its reply; an LMTP server that does so breaks RFC 2033 and the
// connection is given up (all recipients are answered already). A transaction that did not end with the
// final-dot reply (MAIL accepted, then every RCPT or DATA refused) leaves
// the server in a transaction, so the next job starts with RSET.
//
// Extensions used when offered: PIPELINING; SIZE (SIZE=n on MAIL, n = header
// prefix + body in wire form, a slight overestimate; a job over the server's
// limit fails with 552 5.3.4 without being sent); 8BITMIME (BODY=8BITMIME
// for an 8-bit job; an 8-bit job to a server without it is sent as it is,
// as Postfix does by default); SMTPUTF8 (needed when the job says so or an
// address is not ASCII; not offered means 550 5.6.7 for every recipient,
// RFC 6531 3.4); XVERP (on MAIL when the job asks; without it the owner
// must do VERP itself, see extensions()); AUTH PLAIN, else LOGIN, when the
// config has both a user and a password (not offered, or refused: the
// connection fails with the reason); CHUNKING with PIPELINING (SMTP, and
// a body without bare CR/LF; else DATA): BDAT sends the message itself,
// so the body's stuffing dots are left out by splitting its slices around
// them, still by reference (smtp_body.h). A refused BDAT may leave the
// server inside the transaction: the next job starts with RSET. LMTP keeps
// DATA (BDAT's per-recipient replies would add a case for no gain here).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "listgate/base/result.h"
#include "listgate/delivery/smtp_extensions.h"
#include "listgate/delivery/smtp_output.h"
#include "listgate/delivery/smtp_reply.h"
#include "listgate/io/buffer.h"

namespace listgate::delivery {

enum class Protocol : uint8_t { smtp, lmtp };

struct ClientConfig {
  Protocol protocol = Protocol::smtp;
  std::string helo_name = "localhost";  // the EHLO/HELO/LHLO argument
  std::string auth_user;                // AUTH is used when both are non-empty
  std::string auth_password;
  uint32_t max_transactions = 0;        // MAILs per connection, then QUIT; 0 = unlimited
  uint32_t pipeline_depth = 8;          // transactions in flight with BDAT (at least 1)
};

// One transaction to send. The owner keeps *body and the bytes `recipients`
// view alive until the job's result is out (slices in taken output hold
// their own references; the RCPT lines are copies). A fan-out's recipients
// are views into the list table: no string per member.
struct Job {
  uint64_t id = 0;                      // returned in JobResult
  std::string sender;                   // reverse-path without brackets; empty for <>
  std::vector<std::string_view> recipients;  // forward-paths without brackets
  // Generated header lines, each ending in CRLF, sent before the body.
  std::string header_prefix;
  // Wire form: dot-stuffed, without the final ".\r\n"; null means empty.
  const io::SliceChain* body = nullptr;
  bool body_8bit = false;               // ask for BODY=8BITMIME
  bool smtputf8 = false;                // the message needs SMTPUTF8
  bool bare_newlines = false;           // the body has bare CR/LF to repair
  bool xverp = false;                   // ask the server to do VERP (XVERP)
};

struct JobResult {
  uint64_t id = 0;
  ReplyList recipients;                 // one per Job::recipients, in order
  bool connection_failed = false;       // some results are synthetic (see above)
};

enum class ClientState : uint8_t {
  connecting,  // before connected()
  greeting,    // waiting for the 220
  hello,       // EHLO/HELO/LHLO and AUTH under way
  ready,       // idle: submit() starts a job at once
  busy,        // jobs are in flight (one, or several pipelined with BDAT)
  closing,     // QUIT sent: flush output, then close (the 221 is optional)
  closed,      // QUIT answered or the peer closed after QUIT
  failed,      // the connection is unusable: see failure(); flush output, close
};
std::string_view to_string(ClientState s);

struct ClientCounters {
  uint64_t transactions = 0;           // MAIL commands sent
  uint64_t chunked = 0;                // of them, with the message in BDAT
  uint64_t body_bytes_referenced = 0;  // body bytes queued by reference
  uint64_t body_bytes_copied = 0;      // body bytes copied (bare CR/LF repair only)
  uint64_t body_bytes_inserted = 0;    // bytes the repair added
  uint64_t protocol_errors = 0;        // upstream broke the protocol
  uint64_t connection_failures = 0;    // the machine ended in state failed
};

// Synthetic results and failure reasons.
inline constexpr int kSyntheticTempCode = 451;
inline constexpr std::string_view kSyntheticTempStatus = "4.4.2";

class SmtpClient {
 public:
  // `counters` may be shared by all connections (metrics); it must outlive the client.
  SmtpClient(ClientConfig config, ClientCounters& counters);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // The socket is connected: wait for the greeting.
  void connected();
  // Bytes from the server, in any split.
  void received(std::string_view bytes);
  // Takes a job when can_submit(); before the handshake is done the job
  // waits for it. A job the server cannot take (SMTPUTF8, SIZE, bad
  // addresses) completes at once.
  Result<void> submit(Job job);
  // Graceful close: QUIT now if idle, else after the job in progress (or
  // after the handshake, if it is still under way).
  void quit();
  // The socket broke or the peer closed (or connecting failed).
  void connection_lost();

  // Output to write, in order; the caller owns it from now on.
  std::vector<OutSegment> take_output();
  bool has_output() const;
  // Finished jobs, in order.
  std::vector<JobResult> take_results();
  bool has_results() const;

  ClientState state() const;
  // True once the owner should flush the output and close the socket
  // (closing, closed, failed).
  bool wants_close() const;
  // True when submit() would accept a job.
  bool can_submit() const;
  // What the EHLO/LHLO reply offered (empty after HELO).
  const Extensions& extensions() const;
  // Why the connection failed: the server's reply (greeting, EHLO, AUTH,
  // 421) or a synthetic 451 4.4.2 naming the cause.
  const Reply& failure() const;
  // MAIL commands sent on this connection.
  uint32_t transactions() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace listgate::delivery

// session.h - one LMTP server session as a pure protocol machine.
//
// Bytes in (as slices of pooled receive buffers), replies and transactions
// out; no sockets, clocks or logging inside, so it is tested byte by byte and
// in random splits. The owner (the server) feeds what it receives, sends
// what output() holds, and hands finished transactions to delivery.
//
// Pipelining: the session answers every command it can in one feed() and
// stops at the end of a message (transaction_ready). Input after that point
// is kept, by reference, until complete() supplies the per-recipient replies
// and resume() is called.
//
// Bounds: a command line is gathered in at most kMaxCommandLine bytes; a body
// is kept until it passes max_message_size (measured in wire form, without
// the final ".\r\n"), then dropped while the rest is scanned; input kept
// while a transaction waits is not bounded here: the owner sees
// pending_input() and stops reading while status is transaction_ready
// (backpressure). Output grows with the replies to what was fed; the owner
// sends it every loop turn.
//
// Line ends: only CRLF "." CRLF ends a body. Command lines may end with a
// bare LF too (liberal; the CR before the LF is optional), a CR elsewhere is
// part of the line.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "listgate/io/buffer.h"
#include "listgate/table/resolution.h"

namespace listgate::lmtp {

// RFC 5321 4.5.3.1.4: a command line is at most 512 octets; DESIGN.md allows 1000.
inline constexpr size_t kMaxCommandLine = 1000;  // CRLF included

struct Limits {
  uint64_t max_message_size = 52428800;      // advertised as SIZE
  uint32_t max_transaction_recipients = 1000;
};

struct SessionConfig {
  std::string hostname = "localhost";
  Limits limits;
};

// Counters shared by all sessions of a server, exported as metrics.
struct Counters {
  uint64_t commands = 0;                   // command lines answered (too-long ones too)
  uint64_t transactions = 0;               // messages whose final dot was read (552 ones too)
  uint64_t recipients_accepted = 0;
  uint64_t rejected_unknown_domain = 0;
  uint64_t rejected_unknown_list = 0;
  uint64_t rejected_needs_backend = 0;
  uint64_t rejected_bad_address = 0;
  uint64_t rejected_too_many = 0;          // 452 4.5.3
  uint64_t messages_too_big = 0;           // 552 5.3.4
  uint64_t command_errors = 0;             // 500/501/503/555 replies (not 500 5.5.2)
  uint64_t lines_too_long = 0;             // 500 5.5.2
  uint64_t body_bytes = 0;                 // body octets received (wire form)
  uint64_t body_bytes_copied = 0;          // body octets the session had to copy
};

struct Recipient {
  std::string address;                     // the RCPT path, without angle brackets
  table::Resolution resolution;
};

struct Transaction {
  std::string sender;                      // reverse-path without brackets; empty for <>
  bool body_8bitmime = false;
  bool smtputf8 = false;
  std::vector<Recipient> recipients;       // accepted RCPTs, in order
  // The body in wire form: dot-stuffed, as received, without the final ".\r\n".
  io::SliceChain body;
  uint64_t body_length = 0;
  bool bare_newlines = false;              // a CR or LF not part of a CRLF was seen
  // The table the transaction started with (taken at MAIL).
  std::shared_ptr<const table::Directory> directory;
};

class Session {
 public:
  enum class Status : uint8_t {
    need_input,         // everything fed so far is consumed
    transaction_ready,  // a message is complete: see transaction(), then complete()
    closing,            // send output(), then close the connection
  };
  // Asked once per accepted MAIL; a null table makes that MAIL "451 4.3.0".
  using DirectorySource = std::function<std::shared_ptr<const table::Directory>()>;

  Session(const SessionConfig& config, DirectorySource directory, Counters& counters);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Queues the 220 greeting.
  void start();
  // Takes received bytes. The session keeps references to the buffer for
  // body bytes and for input it cannot process yet.
  Status feed(io::Slice input);
  // Processes input kept while a transaction was waiting.
  Status resume();

  // Valid while status is transaction_ready.
  Transaction& transaction();
  // One reply line (without CRLF) per recipient of transaction(), in order;
  // queues them and ends the transaction. Missing replies become
  // "451 4.3.0", extra ones are ignored; after the session closed, the
  // transaction is just dropped.
  void complete(std::span<const std::string> replies);

  // Queues "421 4.4.2" and closes. A transaction waiting for complete() is
  // kept until complete() (the owner may still be using it).
  void idle_timeout();
  // Server stopping: a session not in_transaction() gets "421 4.3.2" and
  // closes now; one inside a transaction (at any stage: RCPTs, body or
  // waiting for complete()) goes on until that transaction ends, queues its
  // replies, then the 421, and closes. The owner bounds the wait
  // (drain_timeout) with idle_timeout() or by dropping the connection.
  void shutdown();

  // Between an accepted MAIL ("250 2.1.0") and the end of that transaction:
  // true while collecting RCPTs, reading the body and waiting for
  // complete(); false again once complete(), RSET, LHLO, QUIT or a "552"
  // (body over SIZE) ended it, and whenever the session is closing. A MAIL
  // that was refused does not start a transaction.
  bool in_transaction() const;
  bool closing() const;
  // Replies waiting to be sent; the owner sends them and clears the string.
  std::string& output();
  // Bytes of input kept unprocessed (fed while a transaction was pending).
  uint64_t pending_input() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reply for a connection refused over max_connections.
inline constexpr std::string_view kTooManyConnectionsReply =
    "421 4.3.2 Too many connections, try again later\r\n";

}  // namespace listgate::lmtp

// client_session.h - one LMTP client connection of the load, as a pure machine.
//
// Replies in, commands out through a SessionPort; no sockets or clocks
// inside (the port gives the time), so it is tested by feeding a server's
// replies byte by byte.
//
// The conversation: greeting, LHLO, then transactions until the
// MessageSource has no more, then QUIT. With PIPELINING advertised, a
// transaction's MAIL, RCPTs and DATA go out in one write; after the 354
// the message goes out, and with `overlap` the next transaction's MAIL,
// RCPTs and DATA right behind its final dot in the same write (RFC 2920:
// DATA ends a group, the body waits for its 354; nothing else has to
// wait). So up to two transactions are in flight per connection, and the
// replies are matched to them in order: MAIL, one per RCPT, DATA, then
// (LMTP) one per accepted RCPT after the final dot. Without PIPELINING,
// one command at a time. A transaction whose DATA is refused (every RCPT
// refused) is ended with RSET before the next MAIL.
//
// Latency: from writing a message's final dot to its last per-recipient
// reply.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "latency_histogram.h"
#include "load_counters.h"
#include "reply_reader.h"
#include "workload.h"

namespace listgate::loadbench {

// What the session needs from its connection.
class SessionPort {
 public:
  virtual ~SessionPort() = default;
  // Queues bytes; they go out at the end of the loop turn.
  virtual void send(const io::Slice& bytes) = 0;
  // Closes the connection (after queued bytes are sent).
  virtual void close() = 0;
  virtual io::Clock::time_point now() = 0;
  // Something went wrong on this connection (for the run's error summary).
  virtual void report_error(std::string_view what) = 0;
};

struct SessionOptions {
  io::Slice lhlo;        // "LHLO name\r\n"
  io::Slice quit;        // "QUIT\r\n"
  io::Slice rset;        // "RSET\r\n"
  bool overlap = true;   // next envelope right behind a final dot
};

class ClientSession {
 public:
  enum class State : uint8_t { greeting, lhlo, transacting, quitting, done };

  ClientSession(SessionPort& port, MessageSource& source, LoadCounters& counters, LatencyHistogram& latency,
                SessionOptions options);

  // Bytes from the server.
  void on_bytes(std::string_view bytes);
  // The connect failed (before any reply); `why` for the error summary.
  void on_connect_failed(std::string_view why);
  // The server closed the connection (err == 0) or it broke (errno).
  void on_peer_closed(int err);
  // The run is over and this session is still busy: stop and close.
  void give_up();

  State state() const { return state_; }
  bool done() const { return state_ == State::done; }
  bool pipelining() const { return pipelining_; }
  size_t in_flight() const { return count_; }

 private:
  // rset: DATA was refused, so the server still holds the transaction
  // (RFC 5321: a failed DATA does not end it); RSET's reply ends it here.
  enum class Phase : uint8_t { mail, rcpt, data, dot, rset };
  struct Transaction {
    MessagePlan plan;
    Phase phase = Phase::mail;
    uint32_t replies = 0;   // RCPT replies (phase rcpt) or final-dot replies (phase dot) so far
    uint32_t accepted = 0;  // RCPTs answered 2xx
    bool all_2xx = true;    // every final-dot reply so far was 2xx
    io::Clock::time_point dot_sent{};
  };

  bool on_line(const ReplyLine& line);
  void on_reply(uint16_t code, std::string_view text);
  void on_transaction_reply(Transaction& t, uint16_t code, std::string_view text);
  // Sends the next transaction's envelope; false when the source has no more.
  bool start_transaction();
  // Nothing in flight: the next transaction, or QUIT.
  void continue_or_quit();
  void fail(std::string_view what, std::string_view reply);
  void finish();

  Transaction& front() { return ring_[head_]; }
  void pop() {
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }

  SessionPort& port_;
  MessageSource& source_;
  LoadCounters& counters_;
  LatencyHistogram& latency_;
  SessionOptions options_;
  ReplyReader reader_;
  State state_ = State::greeting;
  bool pipelining_ = false;
  std::array<Transaction, 2> ring_{};  // in flight, oldest at head_
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace listgate::loadbench

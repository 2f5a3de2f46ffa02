// session.h - one SMTP server session of the sink, as a pure protocol machine.
//
// Bytes in, reply bytes and accepted-message events out; no sockets, clocks
// or files inside, so tests feed it byte by byte or in random splits and
// compare. The owner feeds what it receives, sends output() (then clears
// it) and closes the connection once closing() is true.
//
// Pipelining: feed() answers every complete command (and BDAT chunk) in the
// bytes it is given, appending the replies to one output string, so one read
// gives one batch of replies and (in the owner) one send.
//
// Fast path: a RCPT appends a constant reply and bumps counters; the
// envelope (MAIL FROM, RCPTs) is stored only when the owner wants accepted
// messages described (track_envelope, for --record), and then in strings
// whose capacity is reused, so nothing is allocated per RCPT once warm.
// Body bytes are scanned where they lie (BodyScanner); only the header block
// (for the Message-ID, when tracking) and, with keep_body, the unstuffed
// body are copied.
//
// CHUNKING (RFC 3030): `BDAT <size> [LAST]` is followed by exactly <size>
// raw bytes (no dot-stuffing, no terminator); the message is the
// concatenation of a transaction's chunks up to the LAST one. Chunk bytes are
// counted where they lie too, and are always consumed, also when the chunk is
// refused (no MAIL, no RCPT, over the size limit, after a failed chunk): the
// refusal is sent once its bytes have been read, so the next command is found.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "body_scanner.h"
#include "counters.h"
#include "faults.h"
#include "message_id.h"
#include "unstuffer.h"

namespace listgate::sink {

// A command line longer than this (LF included) is answered 500 5.5.2.
inline constexpr size_t kMaxCommandLine = 2048;
inline constexpr uint64_t kDefaultMaxMessageSize = 52428800;

struct Credentials {
  std::string user;
  std::string pass;
};

struct SessionOptions {
  uint64_t max_message_size = kDefaultMaxMessageSize;  // advertised as SIZE; 0 = no limit
  uint32_t max_recipients = 0;                         // per transaction; 0 = no limit
  bool xverp = false;                                  // advertise and accept XVERP
  std::optional<Credentials> auth;                     // advertise AUTH and require it for MAIL
  bool track_envelope = false;  // describe accepted messages fully (sender, RCPTs, Message-ID)
  bool keep_body = false;       // hand the unstuffed body of accepted messages to the observer
  bool chunking = true;         // advertise CHUNKING and accept BDAT (else BDAT is an unknown command)
};

// One message answered 250 after its final dot or its LAST chunk.
struct AcceptedMessage {
  std::string_view mail_from;                  // reverse-path without brackets; empty for <>
  std::span<const std::string_view> recipients;  // accepted RCPTs in order (track_envelope)
  uint64_t recipient_count = 0;
  std::string_view message_id;                 // empty when none or not tracked
  uint64_t body_bytes = 0;                     // unstuffed size, final ".\r\n" excluded (BDAT: the chunks' sum)
  std::string* body = nullptr;                 // keep_body: the unstuffed body (BDAT: the chunks); may be swapped away
};

class MessageObserver {
 public:
  virtual ~MessageObserver() = default;
  virtual void on_message(AcceptedMessage& message) = 0;
};

class Session {
 public:
  Session(const SessionOptions& options, FaultEngine& faults, Counters& counters, MessageObserver* observer);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Queues the 220 greeting.
  void start();
  // Queues "421 4.3.2 sink is down" and closes (a connection while down).
  void refuse();
  // Queues "421 4.3.2 sink going down" and closes, abandoning any transaction.
  void go_down();

  void feed(std::string_view bytes);

  // Replies waiting to be sent; the owner sends them and clears the string.
  std::string& output() { return out_; }
  // Send output(), then close the connection.
  bool closing() const { return state_ == State::closed; }
  // The session closed in the middle of a body (DATA or BDAT chunk) because of drop-mid-data.
  bool dropped() const { return dropped_; }
  // Inside a DATA body or inside the bytes of a BDAT chunk (the next byte is not a command's).
  bool in_data() const { return state_ == State::data || state_ == State::chunk; }

 private:
  enum class State : uint8_t { command, data, chunk, auth_plain, auth_login_user, auth_login_pass, closed };

  size_t feed_line(const char* p, size_t n);
  size_t feed_body(std::string_view bytes);
  size_t feed_chunk(std::string_view bytes);
  void handle_line(std::string_view line);
  void ehlo(std::string_view rest);
  void helo(std::string_view rest);
  void mail(std::string_view rest);
  void rcpt(std::string_view rest);
  void data(std::string_view rest);
  void bdat(std::string_view rest);
  std::string_view chunk_refusal(uint64_t size);
  void end_chunk();
  void auth(std::string_view rest);
  void auth_plain_response(std::string_view b64);
  void finish_auth(bool credentials_ok);
  void auth_login_user(std::string_view b64);
  void auth_login_pass(std::string_view b64);
  void start_body();
  void finish_data();
  void finish_message(uint64_t size);
  void drop();
  void reset_transaction();
  void error(std::string_view reply);

  const SessionOptions& options_;
  FaultEngine& faults_;
  Counters& counters_;
  MessageObserver* observer_;

  std::string out_;
  std::string partial_;  // a command line split over inputs
  bool overlong_ = false;
  State state_ = State::command;
  bool greeted_ = false;
  bool authenticated_ = false;
  bool in_mail_ = false;
  bool drop_pending_ = false;
  bool dropped_ = false;
  uint32_t rcpt_count_ = 0;

  // Envelope (track_envelope only): capacity reused across transactions.
  std::string mail_from_;
  std::string rcpt_bytes_;
  std::vector<uint32_t> rcpt_ends_;
  std::vector<std::string_view> rcpt_views_;

  // BDAT: the transaction's chunking, and the chunk being read.
  bool bdat_started_ = false;       // a BDAT came in this transaction: DATA and RCPT are out of sequence
  std::string_view bdat_failure_;   // the reply of a failed chunk, repeated for the transaction's later ones
  std::string_view chunk_refusal_;  // the reply of the chunk being read when it is refused (else empty)
  uint64_t chunk_size_ = 0;
  uint64_t chunk_left_ = 0;
  bool chunk_last_ = false;

  // Body.
  BodyScanner scanner_;
  uint64_t wire_bytes_ = 0;  // BDAT: the accepted chunks' bytes so far
  uint64_t dots_ = 0;
  HeaderCollector header_;
  std::string message_id_;
  Unstuffer unstuffer_;
  std::string body_;
  std::string scratch_;    // AUTH decoding
  std::string auth_user_;  // AUTH LOGIN: the user name, until the password comes
};

// Appends the EHLO reply for these options (multi-line, CRLF-terminated).
void append_ehlo_reply(std::string& out, const SessionOptions& options);

}  // namespace listgate::sink
